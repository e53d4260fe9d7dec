-- Retention KPIs per month (seed 004: the KPIs most reports forget).
--   retention_rate  of the customers not churned at the previous month end, the share
--                   still not churned at this month end; churn_rate = 1 − retention_rate
--   repeat_purchase_rate  buyers so far with ≥ 2 orders / buyers so far
-- Incremental (design note 19): only the month ends whose lifecycle history was rebuilt
-- since the last build (or that are new) are computed again; the rest are kept.
{{ config(
    materialized='incremental', incremental_strategy='delete+insert',
    unique_key='month_end',
    post_hook="{{ drop_unwanted_snapshots('month_end') }}"
) }}

with

{{ history_months_to_compute(ref('customer_lifecycle_history')) }}

orders as (

    select * from {{ ref('int_orders_enriched') }}
    where customer_id is not null and is_revenue_order

),

first_month_computed as (

    select date_trunc('month', min(snapshot_date)) as first_month from wanted

),

sequenced as (

    -- the orders of the months computed in this build, each with the days since the
    -- customer's order before it and the customer's first order day (both may lie in
    -- an earlier month): only customers who ordered in those months are sequenced
    select * from (
        select
            customer_id,
            order_id,
            order_date,
            net_revenue_eur,
            order_date - lag(order_date) over (
                partition by customer_id order by ordered_at, order_id
            ) as days_since_previous_order,
            min(order_date) over (partition by customer_id) as first_order_date
        from orders
        {% if is_incremental() %}
        -- (a full refresh computes every month: all customers, all orders)
        where customer_id in (
            select customer_id from orders
            where order_date >= (select first_month from first_month_computed)
        )
        {% endif %}
    ) as o
    {% if is_incremental() %}
    where order_date >= (select first_month from first_month_computed)
    {% endif %}

),

stages as (

    select
        snapshot_date as month_end,
        count(*) filter (where lifecycle_stage = 'new') as new_stage_customers,
        count(*) filter (where lifecycle_stage = 'active') as active_customers,
        count(*) filter (where lifecycle_stage = 'loyal') as loyal_customers,
        count(*) filter (where lifecycle_stage = 'at_risk') as at_risk_customers,
        count(*) filter (where lifecycle_stage = 'churned') as churned_customers,
        count(*) filter (where lifecycle_stage = 'reactivated') as reactivated_customers,
        count(*) as buyers_to_date,
        count(*) filter (where orders_to_date >= 2) as repeat_buyers_to_date,
        -- moves since the month end before (previous_stage null: not a buyer then)
        count(*) filter (where previous_stage <> 'churned') as base_customers,
        count(*) filter (
            where previous_stage <> 'churned' and lifecycle_stage <> 'churned'
        ) as retained_customers,
        count(*) filter (where lifecycle_stage = 'churned' and previous_stage <> 'churned')
            as churned_this_month,
        count(*) filter (where lifecycle_stage = 'reactivated'
            and previous_stage is distinct from 'reactivated') as reactivated_this_month
    from history
    group by snapshot_date

),

monthly_orders as (

    select
        stages.month_end,
        count(sequenced.order_id) as orders,
        count(distinct sequenced.customer_id) as ordering_customers,
        coalesce(sum(sequenced.net_revenue_eur), 0) as net_revenue_eur,
        coalesce(sum(sequenced.net_revenue_eur) filter (
            where date_trunc('month', sequenced.first_order_date)
                = date_trunc('month', sequenced.order_date)
        ), 0) as net_revenue_new_customers_eur,
        count(distinct sequenced.customer_id) filter (
            where date_trunc('month', sequenced.first_order_date)
                = date_trunc('month', sequenced.order_date)
        ) as new_customers,
        avg(sequenced.days_since_previous_order) as avg_days_between_purchases
    from stages
    left join sequenced
        on date_trunc('month', sequenced.order_date) = date_trunc('month', stages.month_end)
        and sequenced.order_date <= stages.month_end
    group by stages.month_end

),

final as (

    select
        stages.month_end,
        monthly_orders.new_customers,
        stages.new_stage_customers,
        stages.active_customers,
        stages.loyal_customers,
        stages.at_risk_customers,
        stages.churned_customers,
        stages.reactivated_customers,
        stages.churned_this_month,
        stages.reactivated_this_month,
        round(stages.retained_customers / nullif(stages.base_customers, 0), 4)
            as retention_rate,
        round(1 - stages.retained_customers / nullif(stages.base_customers, 0), 4)
            as churn_rate,
        round(stages.repeat_buyers_to_date / stages.buyers_to_date, 4)
            as repeat_purchase_rate,
        monthly_orders.orders,
        round(monthly_orders.orders / nullif(monthly_orders.ordering_customers, 0), 3)
            as purchase_frequency,
        round(monthly_orders.net_revenue_eur / nullif(monthly_orders.orders, 0), 2)
            as avg_order_value_eur,
        round(monthly_orders.avg_days_between_purchases, 1) as avg_days_between_purchases,
        monthly_orders.net_revenue_eur,
        monthly_orders.net_revenue_new_customers_eur,
        monthly_orders.net_revenue_eur - monthly_orders.net_revenue_new_customers_eur
            as net_revenue_existing_customers_eur,
        {{ build_time() }} as built_at
    from stages
    left join monthly_orders
        on stages.month_end = monthly_orders.month_end

)

select * from final
