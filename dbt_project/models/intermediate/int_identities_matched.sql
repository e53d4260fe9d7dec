-- Identity resolution (DESIGN.md §4): which source record became which customer, and why.
-- Rule: trim + lower-case the e-mail, nothing more. Junk addresses never match.
-- CRM contacts without a usable e-mail stay separate people keyed by their record id.
-- Incremental (design note 19): a run keys only the records whose latest version came
-- from a file loaded since the last build (new shop orders, a new CRM or newsletter
-- export); every other record keeps its row.
{{ config(
    materialized='incremental', incremental_strategy='delete+insert',
    unique_key=['record_type', 'source_record_id']
) }}

with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

members as (

    select * from {{ ref('stg_newsletter__members') }}

),

feedback as (

    select * from {{ ref('stg_crm__feedback') }}

),

all_records as (

    select
        'shop' as source_system,
        'order' as record_type,
        order_id as source_record_id,
        email_raw,
        email_normalised,
        _loaded_at
    from orders

    union all

    select 'crm', 'contact', contact_id, email_raw, email_normalised, _loaded_at
    from contacts

    union all

    select
        'newsletter',
        'member',
        -- a member is its e-mail within the audience (LEIDs repeat across audiences)
        {{ member_record_id('email_normalised') }},
        email_raw,
        email_normalised,
        _loaded_at
    from members

    union all

    select
        'crm', 'feedback', feedback_id, email_normalised, email_normalised, _loaded_at
    from feedback

),

records as (

    select * exclude (_loaded_at) from all_records
    {% if is_incremental() %}
    where _loaded_at > (select coalesce(max(built_at), '-infinity') from {{ this }})
    {% endif %}

),

classified as (

    select
        *,
        case
            when email_normalised is null then 'no_email'
            when not {{ is_matchable_email('email_normalised') }}
                then 'blocked_or_invalid_email'
            else 'normalised_email'
        end as email_check
    from records

),

keyed as (

    select
        source_system,
        record_type,
        source_record_id,
        case
            when email_check = 'normalised_email'
                then {{ customer_key('email_normalised') }}
            when record_type = 'contact'
                then {{ customer_key("'crm:' || source_record_id") }}
        end as customer_id,
        case
            when email_check = 'normalised_email' then 'normalised_email'
            when record_type = 'contact' then 'crm_contact_without_usable_email'
            else 'unmatched_' || email_check
        end as match_rule,
        coalesce(email_raw <> email_normalised, false) as email_differed_in_case_or_spaces,
        split_part(email_normalised, '@', 2) as email_domain
    from classified

),

final as (

    select
        *,
        case
            when customer_id is null
                then 'not matched: ' || replace(match_rule, 'unmatched_', '')
            when match_rule = 'crm_contact_without_usable_email'
                then 'CRM contact without usable e-mail: kept as its own person'
            when email_differed_in_case_or_spaces
                then 'same e-mail after trimming spaces / lower-casing'
            else 'same e-mail'
        end as match_reason,
        {{ build_time() }} as built_at
    from keyed

)

select * from final
