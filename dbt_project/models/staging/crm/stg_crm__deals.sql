with

source as (

    select * from {{ source('crm', 'deals') }}

),

latest as (

    {{ latest_version('source', 'record_id') }}

),

renamed as (

    select
        record_id as deal_id,
        deal_name,
        coalesce(amount, 0) as deal_amount,
        {{ label_key('deal_stage') }} as deal_stage,
        {{ label_key('deal_stage') }} in ('closed_won', 'closedwon', 'gewonnen')
            as is_won,
        {{ label_key('deal_stage') }} in ('closed_lost', 'closedlost', 'verloren')
            as is_lost,
        pipeline,
        {{ label_key('deal_type') }} as deal_type,
        cast(close_date as date) as close_date,
        created_at,
        {{ first_id('associated_company_ids') }} as company_id,
        {{ first_id('associated_contact_ids') }} as contact_id,
        _source_file,
        _source_line
    from latest

)

select * from renamed
