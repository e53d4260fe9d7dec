{{ config(meta={'dagster': {'ref': {'name': 'dim_customers'}}}) }}
-- Every buyer has exactly one RFM segment; buyers + prospects = all customers.
with

dim as (

    select * from {{ ref('dim_customers') }}

),

rfm as (

    select * from {{ ref('customer_rfm') }}

)

select 'buyers without exactly one rfm row' as problem, count(*) as n
from dim
left join rfm on dim.customer_id = rfm.customer_id
where dim.customer_type = 'customer' and rfm.customer_id is null
having count(*) > 0

union all

select 'rfm rows for non-buyers', count(*)
from rfm
inner join dim on dim.customer_id = rfm.customer_id
where dim.customer_type <> 'customer'
having count(*) > 0
