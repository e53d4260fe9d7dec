-- Potential per person (seed 002: "low value today, development potential"):
-- industry (seeds/industry_potential.csv), company size and the account's open pipeline.
with

people as (

    select * from {{ ref('int_customers_resolved') }}

),

companies as (

    select * from {{ ref('stg_crm__companies') }}

),

deals as (

    select * from {{ ref('stg_crm__deals') }}

),

industries as (

    select * from {{ ref('industry_potential') }}

),

pipeline as (

    select
        company_id,
        sum(deal_amount) filter (where not is_won and not is_lost) as open_deal_amount_eur
    from deals
    group by company_id

),

factors as (

    select
        people.customer_id,
        companies.industry,
        companies.employee_count,
        coalesce(pipeline.open_deal_amount_eur, 0) as open_deal_amount_eur,
        coalesce(industry.potential, fallback.potential) as industry_factor,
        case
            when companies.employee_count >= 250 then 1.0
            when companies.employee_count >= 50 then 0.7
            when companies.employee_count >= 10 then 0.4
            when companies.employee_count >= 1 then 0.2
            else 0.1
        end as size_factor,
        least(
            1.0,
            coalesce(pipeline.open_deal_amount_eur, 0)
            / {{ var('potential_full_pipeline_eur') }}
        ) as pipeline_factor
    from people
    left join companies
        on people.crm_company_id = companies.company_id
    left join pipeline
        on people.crm_company_id = pipeline.company_id
    left join industries as industry
        on companies.industry = industry.industry
    cross join (select potential from industries where industry = '*') as fallback

)

select
    *,
    round(0.4 * industry_factor + 0.3 * size_factor + 0.3 * pipeline_factor, 4)
        as potential_score
from factors
