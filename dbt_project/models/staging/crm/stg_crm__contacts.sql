with

source as (

    select * from {{ source('crm', 'contacts') }}

),

latest as (

    {{ latest_version('source', 'record_id') }}

),

renamed as (

    select
        record_id as contact_id,
        first_name,
        last_name,
        email as email_raw,
        {{ normalise_email('email') }} as email_normalised,
        phone,
        job_title,
        case {{ label_key('lifecycle_stage') }}
            when 'abonnent' then 'subscriber'
            when 'kunde' then 'customer'
            when 'marketing_qualified_lead' then 'marketingqualifiedlead'
            when 'sales_qualified_lead' then 'salesqualifiedlead'
            when 'verkaufschance' then 'opportunity'
            when 'sonstige' then 'other'
            else replace({{ label_key('lifecycle_stage') }}, '_', '')
        end as crm_lifecycle_stage,
        {{ label_key('lead_status') }} as lead_status,
        created_at,
        last_activity_at,
        original_source,
        nullif(trim(company_name), '') as company_name,
        {{ first_id('associated_company_ids') }} as company_id,
        city,
        country,
        _source_file,
        _source_line,
        _loaded_at
    from latest

)

select * from renamed
