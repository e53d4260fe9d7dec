-- The one analysis date every time-based number uses (DESIGN.md, issue #2 §8):
-- KUNDENORBIT_AS_OF if set, else the latest order date in the data.
with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

activity as (

    select * from {{ ref('stg_newsletter__activity') }}

),

final as (

    select
        coalesce(
            {{ as_of_date_setting() }},
            {{ latest_local_date('orders', 'ordered_at') }},
            (select max(cast(event_at as date)) from activity),
            current_date
        ) as as_of_date,
        {{ as_of_date_setting() }} is not null as is_set_explicitly

)

select * from final
