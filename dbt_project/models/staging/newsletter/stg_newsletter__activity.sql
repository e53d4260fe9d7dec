-- One row per recipient event; identical events in overlapping exports count once.
-- Incremental (design note 17): a run reads only the files loaded since the last build;
-- an event already known takes the newer file's row.
{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key='event_id') }}

with

source as (

    select * from {{ source('newsletter', 'activity') }}
    {{ incremental_batch() }}

),

-- read three times by first_per_key below: not materialised
renamed as not materialized (

    select
        {{ normalise_email('email') }} as email_normalised,
        trim(campaign_id) as campaign_id,
        campaign_title,
        case {{ label_key('action') }}
            when 'opened' then 'open'
            when 'clicked' then 'click'
            when 'bounced' then 'bounce'
            when 'hard_bounce' then 'bounce'
            when 'soft_bounce' then 'bounce'
            when 'unsubscribed' then 'unsubscribe'
            when 'unsub' then 'unsubscribe'
            when 'send' then 'sent'
            else {{ label_key('action') }}
        end as action,
        event_at,
        nullif(trim(url), '') as url,
        _source_file,
        _source_line,
        _loaded_at
    from source

),

addressed as not materialized (

    select * from renamed
    where email_normalised is not null

),

deduplicated as (

    {{ first_per_key('addressed', ['email_normalised', 'campaign_id', 'action', 'event_at', 'url'],
                     '_loaded_at desc, _source_file desc, _source_line') }}

)

select
    *,
    left(md5(
        email_normalised || '|' || campaign_id || '|' || action || '|'
        || cast(event_at as varchar) || '|' || coalesce(url, '')
    ), 20) as event_id,
    {{ build_time() }} as built_at
from deduplicated
