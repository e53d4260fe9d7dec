-- Lifecycle stage per person as of the analysis date: the history's last snapshot for
-- buyers; prospects (known from the CRM, newsletter or feedback, no purchase yet) too.
with

people as (

    select * from {{ ref('int_customers_resolved') }}

),

-- read three times below, each for one or two snapshot dates: not materialised (as a
-- CTE it copied all 15.5 M history rows first on L)
history as not materialized (

    select * from {{ ref('customer_lifecycle_history') }}

),

analysis_date as (

    select * from {{ ref('int_analysis_date') }}

),

previous as (

    select
        customer_id,
        lifecycle_stage as stage_month_before
    from history
    where snapshot_date = (
        select max(snapshot_date) from history
        where snapshot_date <= (select as_of_date from analysis_date) - interval 28 day
    )

),

final as (

    select
        people.customer_id,
        analysis_date.as_of_date,
        coalesce(history.lifecycle_stage, 'prospect') as lifecycle_stage,
        previous.stage_month_before,
        people.crm_lifecycle_stage,
        history.orders_to_date,
        history.days_since_last_order,
        history.own_rhythm_days,
        history.overdue_ratio,
        history.unsubscribed_recently
    from people
    cross join analysis_date
    left join history
        on people.customer_id = history.customer_id
        and history.snapshot_date = analysis_date.as_of_date
    left join previous
        on people.customer_id = previous.customer_id

)

select * from final
