with

source as (

    select * from {{ source('crm', 'companies') }}

),

latest as (

    {{ latest_version('source', 'record_id') }}

),

renamed as (

    select
        record_id as company_id,
        trim(company_name) as company_name,
        lower(trim(domain)) as company_domain,
        industry,
        employees as employee_count,
        annual_revenue as annual_revenue_amount,
        country,
        city,
        {{ label_key('lifecycle_stage') }} as crm_lifecycle_stage,
        created_at,
        _source_file,
        _source_line
    from latest

)

select * from renamed
