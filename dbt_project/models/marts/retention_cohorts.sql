-- Cohort retention: customers by month of first order × months since, with the share
-- of the cohort that ordered in that month and the revenue they brought.
with

orders as (

    select * from {{ ref('int_orders_enriched') }}
    where customer_id is not null and is_revenue_order

),

customer_months as (

    -- one row per customer and month with an order: a cohort cell then counts rows, not
    -- distinct customers (count(distinct) next to a sum took half of this model on L)
    select
        customer_id,
        date_trunc('month', order_date) as order_month,
        sum(net_revenue_eur) as net_revenue_eur
    from orders
    group by 1, 2

),

firsts as (

    select customer_id, min(order_month) as cohort_month
    from customer_months
    group by customer_id

),

cohort_sizes as (

    select cohort_month, count(*) as cohort_customers
    from firsts
    group by cohort_month

),

activity as (

    select
        firsts.cohort_month,
        date_diff('month', firsts.cohort_month, customer_months.order_month)
            as months_since_first_order,
        count(*) as active_customers,
        sum(customer_months.net_revenue_eur) as net_revenue_eur
    from customer_months
    inner join firsts
        on customer_months.customer_id = firsts.customer_id
    group by 1, 2

)

select
    cast(activity.cohort_month as date) as cohort_month,
    activity.months_since_first_order,
    cast(activity.cohort_month as date) || '|' || activity.months_since_first_order
        as cohort_cell_id,
    cohort_sizes.cohort_customers,
    activity.active_customers,
    round(activity.active_customers / cohort_sizes.cohort_customers, 4) as active_share,
    activity.net_revenue_eur,
    round(activity.net_revenue_eur / cohort_sizes.cohort_customers, 2)
        as net_revenue_per_cohort_customer_eur
from activity
inner join cohort_sizes
    on activity.cohort_month = cohort_sizes.cohort_month
