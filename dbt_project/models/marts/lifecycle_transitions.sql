-- Transition matrix: how many customers moved from one stage to another between
-- consecutive month ends. A customer's first month counts as a move from 'prospect'.
-- Incremental like kpi_monthly (design note 19): only month ends whose history was
-- rebuilt (or that are new) are counted again.
{{ config(
    materialized='incremental', incremental_strategy='delete+insert',
    unique_key='month_end',
    post_hook="{{ drop_unwanted_snapshots('month_end') }}"
) }}

with

{{ history_months_to_compute(ref('customer_lifecycle_history')) }}

final as (

    select
        snapshot_date as month_end,
        coalesce(previous_stage, 'prospect') as from_stage,
        lifecycle_stage as to_stage,
        count(*) as customers
    from history
    group by 1, 2, 3

)

select
    cast(month_end as varchar) || '|' || from_stage || '|' || to_stage as transition_id,
    *,
    round(customers / sum(customers) over (partition by month_end, from_stage), 4)
        as share_of_from_stage,
    {{ build_time() }} as built_at
from final
