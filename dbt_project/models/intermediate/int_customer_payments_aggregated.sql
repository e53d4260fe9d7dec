-- Payment behaviour and spend trend per customer, from the shop's orders.
with

orders as (

    select * from {{ ref('int_orders_enriched') }}
    where customer_id is not null

),

analysis_date as (

    select * from {{ ref('int_analysis_date') }}

),

final as (

    select
        orders.customer_id,
        count(*) filter (where financial_status = 'paid') as paid_orders_count,
        count(*) filter (where financial_status in ('pending', 'authorized', 'partially_paid'))
            as unpaid_orders_count,
        count(*) filter (where financial_status = 'voided' or is_cancelled)
            as voided_orders_count,
        count(*) filter (where financial_status = 'refunded') as refunded_orders_count,
        count(*) filter (where financial_status = 'partially_refunded')
            as partially_refunded_orders_count,
        count(*) as orders_placed_count,
        round(avg(
            date_diff('minute', ordered_at, paid_at) / 1440.0
        ) filter (where paid_at is not null), 2) as avg_days_to_pay,
        sum(outstanding_eur) as outstanding_eur,
        case
            when sum(case when is_cancelled then 0 else total_eur end) > 0
                then round(
                    sum(refunded_eur)
                    / sum(case when is_cancelled then 0 else total_eur end), 4
                )
            else 0
        end as refund_rate,
        coalesce(sum(net_revenue_eur) filter (
            where order_date > as_of_date - to_days({{ var('trend_window_days') }})
        ), 0) as net_revenue_recent_eur,
        coalesce(sum(net_revenue_eur) filter (
            where order_date <= as_of_date - to_days({{ var('trend_window_days') }})
                and order_date > as_of_date - to_days(2 * {{ var('trend_window_days') }})
        ), 0) as net_revenue_previous_eur,
        coalesce(sum(contribution_margin_eur) filter (
            where order_date > as_of_date - interval 365 day
        ), 0) as contribution_margin_365d_eur
    from orders
    cross join analysis_date
    group by orders.customer_id

)

select * from final
