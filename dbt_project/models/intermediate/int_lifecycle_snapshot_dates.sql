-- The snapshot dates of the lifecycle history: every month end from the first order's
-- month up to the analysis date, plus the analysis date itself.
with

orders as (

    select * from {{ ref('int_orders_enriched') }}

),

analysis_date as (

    select * from {{ ref('int_analysis_date') }}

),

bounds as (

    select
        date_trunc('month', min(order_date)) as first_month,
        max(analysis_date.as_of_date) as as_of_date
    from orders
    cross join analysis_date

),

month_ends as (

    select cast(unnest(generate_series(
        first_month + interval 1 month, as_of_date, interval 1 month
    )) - interval 1 day as date) as snapshot_date
    from bounds

)

select snapshot_date from month_ends
union
select as_of_date from bounds
