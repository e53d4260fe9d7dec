-- Per-customer order history as of the analysis date.
with

orders as (

    select * from {{ ref('int_orders_enriched') }}
    where customer_id is not null

),

analysis_date as (

    select * from {{ ref('int_analysis_date') }}

),

per_customer as (

    -- one pass over the orders: the revenue orders' figures are filtered aggregates
    -- (two group-bys over the same orders made DuckDB materialise all 6 M first);
    -- the mean gap between consecutive revenue orders telescopes to
    -- (last − first) / (orders − 1) (order_date never decreases with ordered_at)
    select
        customer_id,
        count(*) as orders_placed_count,
        count(*) filter (where is_cancelled) as cancelled_orders_count,
        count(*) filter (where refunded_eur > 0) as refunded_orders_count,
        sum(case when is_cancelled then 0 else total_eur end) as gross_revenue_eur,
        sum(refunded_eur) as refunds_eur,
        sum(case when is_cancelled then 0 else discount_eur end) as discounts_eur,
        sum(net_revenue_eur) as net_revenue_eur,
        sum(net_revenue_ex_vat_eur) as net_revenue_ex_vat_eur,
        sum(cogs_eur) as cogs_eur,
        sum(fulfilment_cost_eur) as fulfilment_cost_eur,
        sum(payment_fee_eur) as payment_fee_eur,
        sum(contribution_margin_eur) as contribution_margin_eur,
        sum(outstanding_eur) as outstanding_eur,
        arg_max(accepts_marketing, ordered_at) as accepts_marketing_last_order,
        count(*) filter (where is_revenue_order) as orders_count,
        min(order_date) filter (where is_revenue_order) as first_order_date,
        max(order_date) filter (where is_revenue_order) as last_order_date
    from orders
    group by customer_id

),

final as (

    select
        per_customer.* exclude (orders_count, first_order_date, last_order_date),
        per_customer.orders_count,
        per_customer.first_order_date,
        per_customer.last_order_date,
        analysis_date.as_of_date - per_customer.last_order_date
            as days_since_last_order,
        analysis_date.as_of_date - per_customer.first_order_date
            as days_since_first_order,
        (per_customer.last_order_date - per_customer.first_order_date)
            / nullif(per_customer.orders_count - 1, 0) as avg_days_between_orders
    from per_customer
    cross join analysis_date

)

select * from final
