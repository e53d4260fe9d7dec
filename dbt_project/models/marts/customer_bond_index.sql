-- The seed's bond index (seed 004):
--   Kundenbindung = (Kundenzufriedenheit + Kundenbeziehungsmanagement) × Kommunikation
-- Components, each normalised to 0–1:
--   satisfaction   latest NPS / 10; without a score: 1 − 0.25 per complaint in the last
--                  365 days − half the refund rate (floored at 0); 0.5 if nothing is known
--   relationship   half from orders (orders / lifecycle_loyal_min_orders, capped at 1),
--                  half from tenure (days since the first order / 730, capped at 1)
--   communication  newsletter open rate in the engagement window; 0.5 for subscribers
--                  who were not mailed in the window; 0 without a newsletter relationship
-- bond_index = (satisfaction + relationship) × communication, 0–2 (bond_index_share:
-- the same divided by 2). No communication means no bond, as the seed says.
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

engagement as (

    select * from {{ ref('int_customer_engagement_aggregated') }}

),

payments as (

    select * from {{ ref('int_customer_payments_aggregated') }}

),

components as (

    select
        people.customer_id,
        case
            when service.nps_last is not null then service.nps_last / 10.0
            when coalesce(service.complaints_365d_count, 0) > 0
                or coalesce(payments.refund_rate, 0) > 0
                then greatest(0.0,
                    1.0 - 0.25 * coalesce(service.complaints_365d_count, 0)
                    - 0.5 * coalesce(payments.refund_rate, 0))
            else 0.5
        end as satisfaction,
        0.5 * least(1.0, coalesce(customer_orders.orders_count, 0)
            / {{ var('lifecycle_loyal_min_orders') }})
        + 0.5 * least(1.0, coalesce(customer_orders.days_since_first_order, 0) / 730.0)
            as relationship,
        case
            when engagement.campaigns_received_window > 0
                then engagement.campaigns_opened_window
                    / engagement.campaigns_received_window
            when engagement.newsletter_status = 'subscribed' then 0.5
            else 0.0
        end as communication
    from people
    left join customer_orders using (customer_id)
    left join service using (customer_id)
    left join engagement using (customer_id)
    left join payments using (customer_id)

)

select
    customer_id,
    round(satisfaction, 4) as satisfaction,
    round(relationship, 4) as relationship,
    round(communication, 4) as communication,
    round((satisfaction + relationship) * communication, 4) as bond_index,
    round((satisfaction + relationship) * communication / 2, 4) as bond_index_share
from components
