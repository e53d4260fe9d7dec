-- One row per e-mail address: its most recent state across all audience exports.
with

source as (

    select * from {{ source('newsletter', 'members') }}

),

renamed as (

    select
        {{ normalise_email('email') }} as email_normalised,
        email as email_raw,
        first_name,
        last_name,
        case
            when clean_at is not null or member_status = 'cleaned' then 'cleaned'
            when unsub_at is not null or member_status = 'unsubscribed'
                then 'unsubscribed'
            else coalesce(member_status, 'subscribed')
        end as member_status,
        member_rating,
        optin_at as opted_in_at,
        confirm_at as confirmed_at,
        unsub_at as unsubscribed_at,
        unsub_reason,
        clean_at as cleaned_at,
        greatest(
            last_changed_at, unsub_at, clean_at, confirm_at, optin_at
        ) as status_changed_at,
        tags,
        leid as mailchimp_leid,
        _source_file,
        _source_line,
        _loaded_at
    from source

),

latest as (

    select
        *,
        row_number() over (
            partition by email_normalised
            order by status_changed_at desc nulls last, _loaded_at desc,
                _source_file desc, _source_line
        ) as version_rank
    from renamed
    where email_normalised is not null

)

select * exclude (version_rank)
from latest
where version_rank = 1
