with

source as (

    select * from {{ source('crm', 'companies') }}

),

latest as (

    select
        *,
        row_number() over (
            partition by record_id
            order by _loaded_at desc, _source_file desc, _source_line desc
        ) as version_rank
    from source

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
    where version_rank = 1

)

select * from renamed
