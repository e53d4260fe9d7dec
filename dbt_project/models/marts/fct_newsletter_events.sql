-- One row per newsletter event (sent, open, click, bounce, unsubscribe) up to the
-- analysis date, for matchable recipients.
-- Incremental like fct_orders (design note 17).
{{ config(
    materialized='incremental', incremental_strategy='delete+insert', unique_key='event_id',
    post_hook="{{ drop_after_analysis_date('event_date') }}"
) }}

with

-- read twice (the addresses, the events): batch_cte
activity as {{ batch_cte() }} (

    select * from {{ ref('stg_newsletter__activity') }}
    {{ incremental_batch(this_loaded_at='loaded_at', date='cast(event_at as date)',
                         this_date='event_date') }}

),

analysis_date as (

    select * from {{ ref('int_analysis_date') }}

),

recipient_keys as (

    -- each distinct address checked and keyed once, not once per event
    {{ customer_keys_by_address('activity') }}

),

final as (

    select
        activity.event_id,
        recipient_keys.customer_id,
        activity.campaign_id,
        activity.campaign_title,
        activity.action,
        activity.event_at,
        cast(activity.event_at as date) as event_date,
        activity.url is not null as has_url,
        activity._loaded_at as loaded_at,
        {{ build_time() }} as built_at
    from activity
    inner join recipient_keys
        on activity.email_normalised = recipient_keys.email_normalised
    cross join analysis_date
    where cast(activity.event_at as date) <= analysis_date.as_of_date

)

select * from final
