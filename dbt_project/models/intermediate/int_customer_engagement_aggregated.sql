-- Newsletter status and engagement per customer as of the analysis date.
with

members as (

    select * from {{ ref('stg_newsletter__members') }}

),

-- read twice below (addresses, events); each read takes only its columns
-- (materialised, DuckDB first copied all 6.4 M events with every column)
activity as not materialized (

    select * from {{ ref('stg_newsletter__activity') }}

),

analysis_date as (

    select * from {{ ref('int_analysis_date') }}

),

member_status as (

    select
        {{ customer_key('email_normalised') }} as customer_id,
        member_status as newsletter_status,
        opted_in_at as newsletter_opted_in_at,
        unsubscribed_at as newsletter_unsubscribed_at,
        member_rating as newsletter_member_rating
    from members
    where {{ is_matchable_email('email_normalised') }}

),

recipient_keys as (

    -- each distinct address checked and keyed once, not once per event
    {{ customer_keys_by_address('activity') }}

),

events as (

    select activity.*
    from activity
    cross join analysis_date
    where cast(activity.event_at as date) <= analysis_date.as_of_date

),

per_campaign as (

    -- one row per address and campaign: an open or click counts for the campaign it
    -- belongs to, so "opened in the window" is a share of "received in the window"
    -- (an open today of a mail sent before the window is not a window open). Grouped
    -- by address and keyed afterwards: an address is one customer, and keying the
    -- 0.5 M addresses instead of the 6.4 M events saves a join of all events.
    select
        events.email_normalised,
        events.campaign_id,
        bool_or(action = 'sent' and cast(event_at as date)
                > as_of_date - {{ var('engagement_window_days') }}) as received_in_window,
        bool_or(action = 'sent') as received,
        bool_or(action = 'open') as opened,
        bool_or(action = 'click') as clicked,
        max(event_at) filter (where action = 'open') as last_open_at,
        max(event_at) filter (where action = 'click') as last_click_at
    from events
    cross join analysis_date
    group by events.email_normalised, events.campaign_id

),

per_address as (

    select
        email_normalised,
        count(*) filter (where received_in_window) as campaigns_received_window,
        count(*) filter (where received_in_window and opened) as campaigns_opened_window,
        count(*) filter (where received_in_window and clicked) as campaigns_clicked_window,
        count(*) filter (where received) as campaigns_received_total,
        count(*) filter (where received and opened) as campaigns_opened_total,
        max(last_open_at) as last_newsletter_open_at,
        max(last_click_at) as last_newsletter_click_at
    from per_campaign
    group by email_normalised

),

engagement as (

    select
        recipient_keys.customer_id,
        per_address.* exclude (email_normalised)
    from per_address
    inner join recipient_keys
        on per_address.email_normalised = recipient_keys.email_normalised

),

final as (

    select
        coalesce(member_status.customer_id, engagement.customer_id) as customer_id,
        coalesce(member_status.newsletter_status, 'not_a_member') as newsletter_status,
        member_status.newsletter_opted_in_at,
        member_status.newsletter_unsubscribed_at,
        member_status.newsletter_member_rating,
        coalesce(engagement.campaigns_received_window, 0) as campaigns_received_window,
        coalesce(engagement.campaigns_opened_window, 0) as campaigns_opened_window,
        coalesce(engagement.campaigns_clicked_window, 0) as campaigns_clicked_window,
        coalesce(engagement.campaigns_received_total, 0) as campaigns_received_total,
        coalesce(engagement.campaigns_opened_total, 0) as campaigns_opened_total,
        engagement.last_newsletter_open_at,
        engagement.last_newsletter_click_at
    from member_status
    full outer join engagement
        on member_status.customer_id = engagement.customer_id

)

select * from final
