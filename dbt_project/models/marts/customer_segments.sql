-- Relationship segments (seed 000: Fans, Heavy-User, Angefressene, ehemals Treue,
-- Empörte) plus New and Other: exactly one per person, first matching rule wins.
--   Outraged        gone quiet, and a detractor (NPS ≤ nps_detractor_max), a complaint
--                   or ≥ 50 % of spend refunded
--   Annoyed         still buying, but a complaint / high-priority ticket or detractor
--                   feedback in the last segment_recent_days
--   Formerly loyal  gone quiet after at least segment_loyal_min_orders orders
--   Fans            still buying, ≥ 2 orders, promoter (NPS ≥ nps_promoter_min) or CRM
--                   evangelist
--   Heavy users     still buying, ≥ segment_heavy_min_orders orders
--   New             first order within segment_new_days
--   Other           everyone else, prospects included
-- "Gone quiet": no order for more than segment_quiet_factor × the customer's own average
-- time between orders, and at least segment_quiet_min_days.
with

people as (

    select * from {{ ref('int_customers_resolved') }}

),

customer_orders as (

    select * from {{ ref('int_customer_orders_aggregated') }}

),

service as (

    select * from {{ ref('int_customer_service_aggregated') }}

),

payments as (

    select * from {{ ref('int_customer_payments_aggregated') }}

),

signals as (

    select
        people.customer_id,
        people.crm_lifecycle_stage,
        coalesce(customer_orders.orders_count, 0) as orders_count,
        customer_orders.days_since_last_order,
        customer_orders.days_since_first_order,
        customer_orders.avg_days_between_orders,
        service.nps_last,
        coalesce(service.complaints_count, 0) as complaints_count,
        coalesce(service.recent_complaints_count, 0) as recent_complaints_count,
        coalesce(service.recent_detractor_feedback_count, 0)
            as recent_detractor_feedback_count,
        coalesce(payments.refund_rate, 0) as refund_rate,
        coalesce(customer_orders.orders_count, 0) > 0 as is_buyer,
        greatest(
            {{ var('segment_quiet_min_days') }},
            {{ var('segment_quiet_factor') }} * coalesce(
                customer_orders.avg_days_between_orders,
                {{ var('segment_quiet_min_days') }}
            )
        ) as quiet_after_days
    from people
    left join customer_orders
        on people.customer_id = customer_orders.customer_id
    left join service
        on people.customer_id = service.customer_id
    left join payments
        on people.customer_id = payments.customer_id

),

flagged as (

    select
        *,
        is_buyer and days_since_last_order > quiet_after_days as is_gone_quiet
    from signals

),

segmented as (

    select
        *,
        case
            when is_gone_quiet and (
                nps_last <= {{ var('nps_detractor_max') }}
                or complaints_count >= 1
                or refund_rate >= 0.5
            ) then 'Outraged'
            when is_buyer and not is_gone_quiet and (
                recent_complaints_count >= 1 or recent_detractor_feedback_count >= 1
            ) then 'Annoyed'
            when is_gone_quiet and orders_count >= {{ var('segment_loyal_min_orders') }}
                then 'Formerly loyal'
            when is_buyer and not is_gone_quiet and orders_count >= 2 and (
                nps_last >= {{ var('nps_promoter_min') }}
                or crm_lifecycle_stage = 'evangelist'
            ) then 'Fans'
            when is_buyer and not is_gone_quiet
                and orders_count >= {{ var('segment_heavy_min_orders') }}
                then 'Heavy users'
            when is_buyer and days_since_first_order <= {{ var('segment_new_days') }}
                then 'New'
            else 'Other'
        end as relationship_segment
    from flagged

),

final as (

    select
        customer_id,
        relationship_segment,
        case relationship_segment
            when 'Fans' then 'Fans'
            when 'Heavy users' then 'Heavy-User'
            when 'Annoyed' then 'Angefressene'
            when 'Formerly loyal' then 'ehemals Treue'
            when 'Outraged' then 'Empörte'
            when 'New' then 'Neukunden'
            else 'Sonstige'
        end as relationship_segment_de,
        case relationship_segment
            when 'Outraged' then 'no order for ' || days_since_last_order || ' days'
                || case
                    when nps_last <= {{ var('nps_detractor_max') }}
                        then ' after NPS ' || nps_last
                    when complaints_count >= 1
                        then ' after ' || complaints_count || ' complaint(s)'
                    else ' after refunds of ' || cast(round(100 * refund_rate) as bigint)
                        || ' % of spend'
                end
            when 'Annoyed' then 'still buying, but '
                || case
                    when recent_complaints_count >= 1
                        then recent_complaints_count || ' complaint(s) / urgent ticket(s)'
                    else 'detractor feedback'
                end || ' in the last {{ var("segment_recent_days") }} days'
            when 'Formerly loyal' then orders_count || ' orders, none for '
                || days_since_last_order || ' days (own rhythm '
                || cast(round(avg_days_between_orders) as bigint) || ' days)'
            when 'Fans' then orders_count || ' orders'
                || case
                    when nps_last >= {{ var('nps_promoter_min') }}
                        then ', NPS ' || nps_last
                    else ', CRM evangelist'
                end
            when 'Heavy users' then orders_count || ' orders, last '
                || days_since_last_order || ' days ago'
            when 'New' then 'first order ' || days_since_first_order || ' days ago'
            else case when is_buyer then 'no distinctive pattern' else 'no purchase yet' end
        end as segment_reason,
        is_gone_quiet,
        quiet_after_days
    from segmented

)

select * from final
