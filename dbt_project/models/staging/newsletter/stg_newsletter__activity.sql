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

renamed as (

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

-- an event is its address, campaign, action, time and url: `event_id` hashes them once
-- here, and duplicates are found by it (the model's unique_key). Materialised: read
-- three times by first_per_key below (not materialised, the regex and the hash ran
-- three times over 6.4 M rows on L; grouping by the five columns took longer still)
keyed as materialized (

    select
        *,
        left(md5(
            email_normalised || '|' || campaign_id || '|' || action || '|'
            || cast(event_at as varchar) || '|' || coalesce(url, '')
        ), 20) as event_id
    from renamed
    where email_normalised is not null

),

deduplicated as (

    {{ first_per_key('keyed', ['event_id'],
                     '_loaded_at desc, _source_file desc, _source_line') }}

)

select
    *,
    {{ build_time() }} as built_at
from deduplicated
