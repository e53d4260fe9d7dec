{{ config(meta={'dagster': {'ref': {'name': 'fct_orders'}}}) }}
-- Net revenue agrees to the cent across layers: staging orders (total − refunds of
-- non-cancelled orders up to the analysis date) = fct_orders = customers + unmatched
-- orders = historical CLV. Returns a row per disagreeing pair.
with

analysis_date as (

    select * from {{ ref('int_analysis_date') }}

),

staging as (

    select sum(total_amount - refunded_amount) as amount
    from {{ ref('stg_shop__orders') }}
    cross join analysis_date
    where not is_cancelled
        and cast(ordered_at as date) <= analysis_date.as_of_date

),

facts as (

    select
        sum(net_revenue_eur) as amount,
        sum(net_revenue_eur) filter (where customer_id is null) as unmatched
    from {{ ref('fct_orders') }}

),

customers as (

    select sum(net_revenue_eur) as amount from {{ ref('dim_customers') }}

),

clv as (

    select sum(net_revenue_eur) as amount from {{ ref('customer_clv') }}

),

checks as (

    select 'staging vs fct_orders' as comparison,
        staging.amount as expected, facts.amount as actual
    from staging, facts
    union all
    select 'fct_orders vs dim_customers + unmatched',
        facts.amount, customers.amount + coalesce(facts.unmatched, 0)
    from facts, customers
    union all
    select 'dim_customers vs customer_clv', customers.amount, clv.amount
    from customers, clv

)

select * from checks
where coalesce(expected, 0) <> coalesce(actual, 0)
