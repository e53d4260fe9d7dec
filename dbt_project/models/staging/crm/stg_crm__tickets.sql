with

source as (

    select * from {{ source('crm', 'tickets') }}

),

latest as (

    {{ latest_version('source', 'record_id') }}

),

renamed as (

    select
        record_id as ticket_id,
        ticket_name,
        {{ label_key('category') }} as ticket_category,
        coalesce({{ label_key('priority') }}, 'medium') as ticket_priority,
        {{ label_key('status') }} as ticket_status,
        closed_at is not null
            or {{ label_key('status') }} in ('closed', 'geschlossen', '4')
            as is_closed,
        {{ label_key('category') }} in ('complaint', 'beschwerde')
            or {{ label_key('category') }} like '%complain%'
            as is_complaint,
        created_at,
        closed_at,
        source_channel,
        {{ first_id('associated_contact_ids') }} as contact_id,
        {{ first_id('associated_company_ids') }} as company_id,
        _source_file,
        _source_line
    from latest

)

select * from renamed
