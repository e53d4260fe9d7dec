-- CRM tickets up to the analysis date with their customer and handling cost
-- (seeds/service_costs.csv: the most specific category/priority row wins).
with

tickets as (

    select * from {{ ref('stg_crm__tickets') }}

),

costs as (

    select * from {{ ref('service_costs') }}

),

identities as (

    select * from {{ ref('int_identities_matched') }}
    where record_type = 'contact' and customer_id is not null

),

analysis_date as (

    select * from {{ ref('int_analysis_date') }}

),

in_scope as (

    select
        tickets.*,
        identities.customer_id
    from tickets
    inner join identities
        on tickets.contact_id = identities.source_record_id
    cross join analysis_date
    where cast(tickets.created_at as date) <= analysis_date.as_of_date

),

costed as (

    select
        in_scope.*,
        row_number() over (
            partition by in_scope.ticket_id
            order by
                (costs.category <> '*')::int * 2 + (costs.priority <> '*')::int desc
        ) as match_rank,
        costs.cost_eur
    from in_scope
    inner join costs
        on (costs.category = in_scope.ticket_category or costs.category = '*')
        and (costs.priority = in_scope.ticket_priority or costs.priority = '*')

)

select
    ticket_id,
    customer_id,
    created_at,
    ticket_category,
    ticket_priority,
    is_complaint,
    is_closed,
    cast(cost_eur as decimal(18, 2)) as service_cost_eur
from costed
where match_rank = 1
