{{ config(meta={'dagster': {'ref': {'name': 'next_best_actions'}}}) }}
-- Exactly one action per person in dim_customers, and no action that needs marketing
-- consent for anyone without it (unsubscribed and cleaned people never have it).
with

dim as (

    select * from {{ ref('dim_customers') }}

),

nba as (

    select * from {{ ref('next_best_actions') }}

)

select 'person without an action' as problem, dim.customer_id
from dim
left join nba on dim.customer_id = nba.customer_id
where nba.customer_id is null

union all

select 'marketing action without consent', nba.customer_id
from nba
inner join dim on dim.customer_id = nba.customer_id
where nba.audience not in ('none', 'call_list')
    and (not dim.has_marketing_consent
        or dim.newsletter_status in ('unsubscribed', 'cleaned'))
