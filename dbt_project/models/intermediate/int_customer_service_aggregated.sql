-- Tickets, complaints and NPS feedback per customer as of the analysis date.
with

tickets as (

    select * from {{ ref('int_tickets_costed') }}

),

feedback as (

    select * from {{ ref('stg_crm__feedback') }}

),

identities as (

    select * from {{ ref('int_identities_matched') }}
    where customer_id is not null

),

analysis_date as (

    select * from {{ ref('int_analysis_date') }}

),

customer_tickets as (

    select
        tickets.customer_id,
        count(*) as tickets_count,
        count(*) filter (
            where tickets.created_at > analysis_date.as_of_date - interval 365 day
        ) as tickets_365d_count,
        count(*) filter (where tickets.is_complaint) as complaints_count,
        count(*) filter (
            where tickets.is_complaint
                and tickets.created_at > analysis_date.as_of_date - interval 365 day
        ) as complaints_365d_count,
        count(*) filter (
            where (tickets.is_complaint or tickets.ticket_priority in ('high', 'urgent'))
                and tickets.created_at > analysis_date.as_of_date
                    - to_days({{ var('segment_recent_days') }})
        ) as recent_complaints_count,
        count(*) filter (where not tickets.is_closed) as open_tickets_count,
        count(*) filter (
            where tickets.ticket_priority in ('high', 'urgent')
        ) as high_priority_tickets_count,
        sum(tickets.service_cost_eur) as service_cost_eur,
        coalesce(sum(tickets.service_cost_eur) filter (
            where tickets.created_at > analysis_date.as_of_date - interval 365 day
        ), 0) as service_cost_365d_eur,
        max(tickets.created_at) as last_ticket_at
    from tickets
    cross join analysis_date
    group by tickets.customer_id

),

customer_feedback as (

    select
        identities.customer_id,
        count(*) as feedback_count,
        count(*) filter (
            where feedback.nps_category = 'detractor'
                and feedback.submitted_at > analysis_date.as_of_date
                    - to_days({{ var('segment_recent_days') }})
        ) as recent_detractor_feedback_count,
        round(avg(feedback.nps_score), 2) as nps_avg,
        arg_max(feedback.nps_score, feedback.submitted_at) as nps_last,
        arg_max(feedback.nps_category, feedback.submitted_at) as nps_category_last,
        max(feedback.submitted_at) as last_feedback_at
    from feedback
    inner join identities
        on identities.record_type = 'feedback'
        and feedback.feedback_id = identities.source_record_id
    cross join analysis_date
    where cast(feedback.submitted_at as date) <= analysis_date.as_of_date
        or feedback.submitted_at is null
    group by identities.customer_id

),

final as (

    select
        coalesce(customer_tickets.customer_id, customer_feedback.customer_id)
            as customer_id,
        coalesce(customer_tickets.tickets_count, 0) as tickets_count,
        coalesce(customer_tickets.tickets_365d_count, 0) as tickets_365d_count,
        coalesce(customer_tickets.complaints_count, 0) as complaints_count,
        coalesce(customer_tickets.complaints_365d_count, 0) as complaints_365d_count,
        coalesce(customer_tickets.recent_complaints_count, 0) as recent_complaints_count,
        coalesce(customer_tickets.service_cost_eur, 0) as service_cost_eur,
        coalesce(customer_tickets.service_cost_365d_eur, 0) as service_cost_365d_eur,
        coalesce(customer_tickets.open_tickets_count, 0) as open_tickets_count,
        coalesce(customer_tickets.high_priority_tickets_count, 0)
            as high_priority_tickets_count,
        customer_tickets.last_ticket_at,
        coalesce(customer_feedback.feedback_count, 0) as feedback_count,
        customer_feedback.nps_avg,
        coalesce(customer_feedback.recent_detractor_feedback_count, 0)
            as recent_detractor_feedback_count,
        customer_feedback.nps_last,
        customer_feedback.nps_category_last,
        customer_feedback.last_feedback_at
    from customer_tickets
    full outer join customer_feedback
        on customer_tickets.customer_id = customer_feedback.customer_id

)

select * from final
