-- Per-customer order history as of the analysis date: the totals of
-- int_customer_order_totals (incremental by customer, design note 29) and the days
-- counted from the analysis date, which move every day for everyone. A view: the
-- arithmetic over 1 M rows costs less than writing them.
{{ config(materialized='view') }}

with

totals as (

    select * from {{ ref('int_customer_order_totals') }}

),

analysis_date as (

    select * from {{ ref('int_analysis_date') }}

),

final as (

    select
        totals.customer_id,
        totals.orders_placed_count,
        totals.cancelled_orders_count,
        totals.refunded_orders_count,
        totals.gross_revenue_eur,
        totals.refunds_eur,
        totals.discounts_eur,
        totals.net_revenue_eur,
        totals.net_revenue_ex_vat_eur,
        totals.cogs_eur,
        totals.fulfilment_cost_eur,
        totals.payment_fee_eur,
        totals.contribution_margin_eur,
        totals.outstanding_eur,
        totals.accepts_marketing_last_order,
        totals.orders_count,
        totals.first_order_date,
        totals.last_order_date,
        analysis_date.as_of_date - totals.last_order_date
            as days_since_last_order,
        analysis_date.as_of_date - totals.first_order_date
            as days_since_first_order,
        (totals.last_order_date - totals.first_order_date)
            / nullif(totals.orders_count - 1, 0) as avg_days_between_orders
    from totals
    cross join analysis_date

)

select * from final
