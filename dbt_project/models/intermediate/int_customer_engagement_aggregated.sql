-- Newsletter status and engagement per customer as of the analysis date.
with

members as (

    select * from {{ ref('stg_newsletter__members') }}

),

-- one row per campaign and recipient (incremental by customer, design note 29): an open
-- or click counts for the campaign it belongs to, so "opened in the window" is a share
-- of "received in the window" (an open today of a mail sent before the window is not a
-- window open); received in the window = its last send inside the window
recipients as (

    select * from {{ ref('int_campaign_recipients') }}

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

engagement as (

    select
        customer_id,
        count(*) filter (where received_in_window) as campaigns_received_window,
        count(*) filter (where received_in_window and opened) as campaigns_opened_window,
        count(*) filter (where received_in_window and clicked) as campaigns_clicked_window,
        count(*) filter (where received) as campaigns_received_total,
        count(*) filter (where received and opened) as campaigns_opened_total,
        max(last_open_at) as last_newsletter_open_at,
        max(last_click_at) as last_newsletter_click_at
    from (
        select
            recipients.*,
            sent_at is not null as received,
            coalesce(last_sent_date > as_of_date - {{ var('engagement_window_days') }}, false)
                as received_in_window
        from recipients
        cross join analysis_date
    ) as recipient_windows
    group by customer_id

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
