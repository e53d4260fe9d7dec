-- One row per newsletter event (sent, open, click, bounce, unsubscribe) up to the
-- analysis date, for matchable recipients.
with

activity as (

    select * from {{ ref('stg_newsletter__activity') }}

),

analysis_date as (

    select * from {{ ref('int_analysis_date') }}

),

final as (

    select
        activity.event_id,
        {{ customer_key('activity.email_normalised') }} as customer_id,
        activity.campaign_id,
        activity.campaign_title,
        activity.action,
        activity.event_at,
        cast(activity.event_at as date) as event_date,
        activity.url is not null as has_url
    from activity
    cross join analysis_date
    where {{ is_matchable_email('activity.email_normalised') }}
        and cast(activity.event_at as date) <= analysis_date.as_of_date

)

select * from final
