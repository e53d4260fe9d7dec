-- Payment behaviour and spend trend per customer, from the shop's orders: the payment
-- counts of int_customer_order_totals (incremental by customer, design note 29) and the
-- spend of the trend windows before the analysis date, which slide every day and are
-- summed afresh from the orders inside them.
with

totals as (

    select * from {{ ref('int_customer_order_totals') }}

),

analysis_date as (

    select * from {{ ref('int_analysis_date') }}

),

windows as (

    select
        orders.customer_id,
        sum(net_revenue_eur) filter (
            where order_date > as_of_date - to_days({{ var('trend_window_days') }})
        ) as net_revenue_recent_eur,
        sum(net_revenue_eur) filter (
            where order_date <= as_of_date - to_days({{ var('trend_window_days') }})
                and order_date > as_of_date - to_days(2 * {{ var('trend_window_days') }})
        ) as net_revenue_previous_eur,
        sum(contribution_margin_eur) filter (
            where order_date > as_of_date - interval 365 day
        ) as contribution_margin_365d_eur
    from {{ ref('int_orders_enriched') }} as orders
    cross join analysis_date
    where orders.customer_id is not null
        and (order_date > as_of_date - to_days(2 * {{ var('trend_window_days') }})
             or order_date > as_of_date - interval 365 day)
    group by orders.customer_id

),

final as (

    select
        totals.customer_id,
        totals.paid_orders_count,
        totals.unpaid_orders_count,
        totals.voided_orders_count,
        totals.payment_refunded_orders_count as refunded_orders_count,
        totals.partially_refunded_orders_count,
        totals.orders_placed_count,
        totals.avg_days_to_pay,
        totals.outstanding_eur,
        totals.refund_rate,
        coalesce(windows.net_revenue_recent_eur, 0) as net_revenue_recent_eur,
        coalesce(windows.net_revenue_previous_eur, 0) as net_revenue_previous_eur,
        coalesce(windows.contribution_margin_365d_eur, 0) as contribution_margin_365d_eur
    from totals
    left join windows
        on totals.customer_id = windows.customer_id

)

select * from final
