-- The customer 360: one row per person known from any source (prospects included).
-- No contact details here: e-mail, names and phone live in pii.customer_contacts.
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

customer_orders as (

    select * from {{ ref('int_customer_orders_aggregated') }}

),

engagement as (

    select * from {{ ref('int_customer_engagement_aggregated') }}

),

service as (

    select * from {{ ref('int_customer_service_aggregated') }}

),

rfm as (

    select * from {{ ref('customer_rfm') }}

),

customer_value as (

    select * from {{ ref('customer_value') }}

),

segments as (

    select * from {{ ref('customer_segments') }}

),

bond as (

    select * from {{ ref('customer_bond_index') }}

),

clv as (

    select * from {{ ref('customer_clv') }}

),

analysis_date as (

    select * from {{ ref('int_analysis_date') }}

),

account_pipeline as (

    select
        company_id,
        sum(deal_amount) filter (where not is_won and not is_lost)
            as open_deal_amount_eur,
        sum(deal_amount) filter (
            where is_won and close_date <= (select as_of_date from analysis_date)
        ) as won_deal_amount_eur,
        count(*) filter (where not is_won and not is_lost) as open_deals_count
    from deals
    group by company_id

),

final as (

    select
        ----------  ids
        people.customer_id,
        people.account_id,
        people.crm_contact_id,

        ----------  firmographics and CRM
        coalesce(companies.company_name, people.company_name) as company_name,
        companies.industry,
        companies.employee_count,
        companies.annual_revenue_amount as company_annual_revenue_eur,
        coalesce(companies.country, people.billing_country) as country,
        people.crm_lifecycle_stage,
        people.lead_status,
        people.original_source,
        people.crm_created_at,
        people.crm_contact_count,
        coalesce(account_pipeline.open_deal_amount_eur, 0) as account_open_deal_amount_eur,
        coalesce(account_pipeline.won_deal_amount_eur, 0) as account_won_deal_amount_eur,
        coalesce(account_pipeline.open_deals_count, 0) as account_open_deals_count,

        ----------  where we know them from
        people.is_in_shop,
        people.is_in_crm,
        people.is_in_newsletter,
        people.source_record_count,
        case
            when coalesce(customer_orders.orders_count, 0) > 0 then 'customer'
            else 'prospect'
        end as customer_type,

        ----------  orders (as of the analysis date)
        customer_orders.first_order_date,
        customer_orders.last_order_date,
        customer_orders.days_since_last_order,
        coalesce(customer_orders.orders_count, 0) as orders_count,
        coalesce(customer_orders.cancelled_orders_count, 0) as cancelled_orders_count,
        coalesce(customer_orders.refunded_orders_count, 0) as refunded_orders_count,
        coalesce(customer_orders.gross_revenue_eur, 0) as gross_revenue_eur,
        coalesce(customer_orders.refunds_eur, 0) as refunds_eur,
        coalesce(customer_orders.discounts_eur, 0) as discounts_eur,
        coalesce(customer_orders.net_revenue_eur, 0) as net_revenue_eur,
        case
            when customer_orders.orders_count > 0
                then round(customer_orders.net_revenue_eur / customer_orders.orders_count, 2)
        end as avg_order_value_eur,
        round(customer_orders.avg_days_between_orders, 1) as avg_days_between_orders,
        coalesce(customer_orders.outstanding_eur, 0) as outstanding_eur,

        ----------  newsletter
        coalesce(engagement.newsletter_status, 'not_a_member') as newsletter_status,
        case
            when engagement.newsletter_status = 'subscribed' then true
            when engagement.newsletter_status in ('unsubscribed', 'cleaned') then false
            else coalesce(customer_orders.accepts_marketing_last_order, false)
        end as has_marketing_consent,
        engagement.newsletter_opted_in_at,
        engagement.newsletter_unsubscribed_at,
        coalesce(engagement.campaigns_received_window, 0) as newsletters_received_90d,
        coalesce(engagement.campaigns_opened_window, 0) as newsletters_opened_90d,
        coalesce(engagement.campaigns_clicked_window, 0) as newsletters_clicked_90d,
        case
            when engagement.campaigns_received_window > 0
                then round(
                    engagement.campaigns_opened_window
                    / engagement.campaigns_received_window, 3
                )
        end as newsletter_open_rate_90d,
        engagement.last_newsletter_open_at,

        ----------  service and satisfaction
        coalesce(service.tickets_count, 0) as tickets_count,
        coalesce(service.tickets_365d_count, 0) as tickets_365d_count,
        coalesce(service.complaints_count, 0) as complaints_count,
        coalesce(service.open_tickets_count, 0) as open_tickets_count,
        coalesce(service.feedback_count, 0) as feedback_count,
        service.nps_last,
        service.nps_avg,
        service.nps_category_last,

        ----------  segments and value
        rfm.rfm_score,
        rfm.rfm_segment,
        segments.relationship_segment,
        segments.relationship_segment_de,
        segments.segment_reason,
        customer_value.value_class,
        customer_value.value_score,
        customer_value.top_drivers as value_drivers,
        customer_value.worth_it,
        customer_value.margin_after_service_eur,
        customer_value.service_cost_eur,
        bond.bond_index,

        ----------  predictive CLV (BG/NBD + Gamma-Gamma, pipelines/models/clv.py)
        clv.p_alive,
        {%- for days in var('clv_horizons_days') %}
        clv.expected_purchases_{{ days }}d,
        {%- endfor %}
        clv.predicted_clv_eur,
        clv.predicted_margin_clv_eur,
        analysis_date.as_of_date
    from people
    left join companies
        on people.crm_company_id = companies.company_id
    left join account_pipeline
        on people.crm_company_id = account_pipeline.company_id
    left join customer_orders
        on people.customer_id = customer_orders.customer_id
    left join engagement
        on people.customer_id = engagement.customer_id
    left join service
        on people.customer_id = service.customer_id
    left join rfm
        on people.customer_id = rfm.customer_id
    left join customer_value
        on people.customer_id = customer_value.customer_id
    left join segments
        on people.customer_id = segments.customer_id
    left join bond
        on people.customer_id = bond.customer_id
    left join clv
        on people.customer_id = clv.customer_id
    cross join analysis_date

)

select * from final
