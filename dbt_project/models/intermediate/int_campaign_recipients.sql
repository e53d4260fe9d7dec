-- One row per campaign and recipient (customer) up to the analysis date: what they got
-- and did. Read by int_customer_engagement_aggregated and campaign_performance, which
-- both grouped all 6.3 M events by recipient and campaign, every day, on L.
-- Incremental by customer (design note 29, as note 28): every event that comes into
-- scope comes into fct_newsletter_events with a new built_at, so a run rebuilds the
-- customers of those events, unless the event counts do not add up (events left the
-- analysis window or were erased): then everyone is rebuilt, and the post-hook drops
-- customers left without events. A full refresh builds everyone.
{{ config(
    materialized='incremental', incremental_strategy='delete+insert', unique_key='customer_id',
    post_hook="{{ drop_recipients_without_events() }}"
) }}

with

-- read three times below; each reads only its columns and rows
all_events as not materialized (

    select * from {{ ref('fct_newsletter_events') }}

),

{% if is_incremental() %}
changed as (

    -- customers with an event written since this model's last build
    select distinct customer_id from all_events
    where built_at > (select coalesce(max(built_at), '-infinity') from {{ this }})

),

counts_add_up as (

    -- the customers not changed still have exactly the events this table counted for
    -- them (an event that comes in changes its customer)
    select
        (select coalesce(sum(event_count), 0) from {{ this }}
            where customer_id not in (select customer_id from changed))
        + (select count(*) from all_events
            where customer_id in (select customer_id from changed))
        = (select count(*) from all_events) as holds

),
{% endif %}

events as (

    select * from all_events
    {% if is_incremental() %}
    where customer_id in (select customer_id from changed)
        or not (select holds from counts_add_up)
    {% endif %}

),

final as (

    select
        customer_id,
        campaign_id,
        count(*) as event_count,
        any_value(campaign_title) as campaign_title,
        min(event_at) filter (where action = 'sent') as sent_at,
        max(event_date) filter (where action = 'sent') as last_sent_date,
        bool_or(action = 'open') as opened,
        bool_or(action = 'click') as clicked,
        bool_or(action = 'bounce') as bounced,
        bool_or(action = 'unsubscribe') as unsubscribed,
        max(event_at) filter (where action = 'open') as last_open_at,
        max(event_at) filter (where action = 'click') as last_click_at,
        {{ build_time() }} as built_at
    from events
    group by customer_id, campaign_id

)

select * from final
