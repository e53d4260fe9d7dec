-- Customer value (seeds 000 and 002): contribution margin after service cost, payment
-- behaviour, spend trend and potential → a weighted value score, class A–E, the top
-- three drivers in words, and whether serving the customer is worth it.
-- Weights and class boundaries: vars value_weights / value_class_min_score.
{%- set w = var('value_weights') %}
{%- set b = var('value_class_min_score') %}
{%- set w_sum = w.margin + w.trend + w.payment + w.service + w.potential %}
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

potential as (

    select * from {{ ref('int_customer_potential') }}

),

-- predicted margin CLV (next clv_horizon_months) where the CLV models could be fitted
predicted as (

    select customer_id, predicted_margin_clv_eur
    from {{ ref('customer_clv') }}
    where predicted_margin_clv_eur is not null

),

base as (

    select
        people.customer_id,
        coalesce(customer_orders.orders_count, 0) as orders_count,
        coalesce(customer_orders.net_revenue_eur, 0) as net_revenue_eur,
        coalesce(customer_orders.net_revenue_ex_vat_eur, 0) as net_revenue_ex_vat_eur,
        coalesce(customer_orders.cogs_eur, 0) as cogs_eur,
        coalesce(customer_orders.discounts_eur, 0) as discounts_eur,
        coalesce(customer_orders.fulfilment_cost_eur, 0) as shipping_cost_eur,
        coalesce(customer_orders.payment_fee_eur, 0) as payment_fee_eur,
        coalesce(customer_orders.contribution_margin_eur, 0) as contribution_margin_eur,
        coalesce(service.service_cost_eur, 0) as service_cost_eur,
        coalesce(service.service_cost_365d_eur, 0) as service_cost_365d_eur,
        coalesce(service.tickets_count, 0) as tickets_count,
        coalesce(service.complaints_365d_count, 0) as complaints_365d_count,
        coalesce(payments.orders_placed_count, 0) as orders_placed_count,
        coalesce(payments.paid_orders_count, 0) as paid_orders_count,
        coalesce(payments.unpaid_orders_count, 0) as unpaid_orders_count,
        coalesce(payments.voided_orders_count, 0) as voided_orders_count,
        coalesce(payments.refunded_orders_count, 0) as refunded_orders_count,
        coalesce(payments.partially_refunded_orders_count, 0)
            as partially_refunded_orders_count,
        payments.avg_days_to_pay,
        coalesce(payments.outstanding_eur, 0) as outstanding_eur,
        coalesce(payments.refund_rate, 0) as refund_rate,
        coalesce(payments.net_revenue_recent_eur, 0) as net_revenue_recent_eur,
        coalesce(payments.net_revenue_previous_eur, 0) as net_revenue_previous_eur,
        coalesce(payments.contribution_margin_365d_eur, 0) as contribution_margin_365d_eur,
        potential.industry,
        potential.employee_count,
        potential.open_deal_amount_eur,
        potential.industry_factor,
        potential.potential_score
    from people
    left join customer_orders
        on people.customer_id = customer_orders.customer_id
    left join service
        on people.customer_id = service.customer_id
    left join payments
        on people.customer_id = payments.customer_id
    left join potential
        on people.customer_id = potential.customer_id

),

criteria as (

    select
        *,
        contribution_margin_eur - service_cost_eur as margin_after_service_eur,
        percent_rank() over (
            order by contribution_margin_eur - service_cost_eur
        ) as margin_score,
        case
            when net_revenue_recent_eur = 0 and net_revenue_previous_eur = 0
                then case when orders_count > 0 then 0.25 else 0.5 end
            else 0.5 + 0.5 * (net_revenue_recent_eur - net_revenue_previous_eur)
                / greatest(net_revenue_recent_eur, net_revenue_previous_eur)
        end as trend_score,
        case
            when orders_placed_count = 0 then 0.5
            else greatest(0.0,
                1.0
                - least(0.6, 2 * refund_rate)
                - 0.5 * voided_orders_count / orders_placed_count
                - case when outstanding_eur > 0 then 0.1 else 0 end
                - least(0.3, coalesce(avg_days_to_pay, 0) / 60.0)
            )
        end as payment_score,
        case
            when service_cost_eur = 0 then 1.0
            else greatest(0.0, 1.0 - service_cost_eur / greatest(net_revenue_ex_vat_eur, 1))
        end as service_score,
        net_revenue_eur > 0 and cume_dist() over (order by net_revenue_eur desc)
            <= {{ var('key_account_top_share') }} as is_key_account
    from base

),

scored as (

    select
        *,
        round((
            {{ w.margin }} * margin_score
            + {{ w.trend }} * trend_score
            + {{ w.payment }} * payment_score
            + {{ w.service }} * service_score
            + {{ w.potential }} * potential_score
        ) / {{ w_sum }}, 4) as value_score
    from criteria

),

classified as (

    select
        *,
        case
            when value_score >= {{ b.A }} then 'A'
            when value_score >= {{ b.B }} then 'B'
            when value_score >= {{ b.C }} then 'C'
            when value_score >= {{ b.D }} then 'D'
            else 'E'
        end as value_class
    from scored

),

means as (

    select
        avg(margin_score) as margin,
        avg(trend_score) as trend,
        avg(payment_score) as payment,
        avg(service_score) as service,
        avg(potential_score) as potential
    from classified

),

drivers as (

    -- a driver's weight: how far this criterion moves the customer's score away from
    -- the average customer's
    select
        customer_id,
        {{ w.margin }} * (margin_score - means.margin) as margin_impact,
        case
            when margin_after_service_eur < 0
                then 'costs more than it brings ('
                    || cast(round(margin_after_service_eur) as bigint) || ' €)'
            when orders_count = 0 then 'no purchases yet'
            when margin_score >= 0.95 then 'margin top 5 %'
            when margin_score >= 0.8 then 'margin top 20 %'
            when margin_score < 0.2 then 'margin bottom 20 %'
            else 'margin ' || cast(round(margin_after_service_eur) as bigint) || ' €'
        end as margin_driver,
        {{ w.service }} * (service_score - means.service) as service_impact,
        case
            when complaints_365d_count > 0
                then complaints_365d_count || ' complaint'
                    || case when complaints_365d_count > 1 then 's' else '' end
                    || ' this year'
            when tickets_count > 0
                then tickets_count || case when tickets_count = 1 then ' ticket' else ' tickets' end
                    || ' cost '
                    || cast(round(service_cost_eur) as bigint) || ' €'
            else 'no service effort'
        end as service_driver,
        {{ w.payment }} * (payment_score - means.payment) as payment_impact,
        case
            when orders_placed_count = 0 then 'no payment history'
            when refund_rate >= 0.2
                then 'refunds ' || cast(round(100 * refund_rate) as bigint) || ' % of spend'
            when voided_orders_count > 0
                then voided_orders_count || ' cancelled or voided order'
                    || case when voided_orders_count = 1 then '' else 's' end
            when outstanding_eur > 0
                then cast(round(outstanding_eur) as bigint) || ' € outstanding'
            when avg_days_to_pay > 7
                then 'pays late (avg ' || cast(round(avg_days_to_pay) as bigint) || ' days)'
            else 'pays reliably'
        end as payment_driver,
        {{ w.trend }} * (trend_score - means.trend) as trend_impact,
        case
            when orders_count = 0 then 'no spend yet'
            when net_revenue_recent_eur = 0 and net_revenue_previous_eur = 0
                then 'no purchases in the last '
                    || 2 * {{ var('trend_window_days') }} || ' days'
            when net_revenue_previous_eur = 0 then 'new spend in the last '
                || {{ var('trend_window_days') }} || ' days'
            when net_revenue_recent_eur = 0 then 'no purchase in the last '
                || {{ var('trend_window_days') }} || ' days'
            when net_revenue_recent_eur > net_revenue_previous_eur
                then 'spend growing +' || cast(round(100 * (net_revenue_recent_eur
                    / net_revenue_previous_eur - 1)) as bigint) || ' %'
            when net_revenue_recent_eur < net_revenue_previous_eur
                then 'spend falling −' || cast(round(100 * (1 - net_revenue_recent_eur
                    / net_revenue_previous_eur)) as bigint) || ' %'
            else 'stable spend'
        end as trend_driver,
        {{ w.potential }} * (potential_score - means.potential) as potential_impact,
        case
            when open_deal_amount_eur > 0
                then 'open pipeline ' || cast(round(open_deal_amount_eur) as bigint) || ' €'
            when industry is not null
                then 'industry ' || industry || ' (potential '
                    || cast(round(100 * industry_factor) as bigint) || ' %)'
            else 'private customer, little potential known'
        end as potential_driver
    from classified, means

),

top_drivers as (

    -- the three drivers with the largest weight, ties by criterion name: one sort of a
    -- five-element list per customer (a window over 5 M driver rows took 10 of 19 CPU
    -- seconds of this model on the 1 M-customer data set)
    select
        customer_id,
        array_to_string(list_transform(list_sort([
            {'weight': coalesce(-abs(margin_impact), 'infinity'::double), 'criterion': 'margin', 'driver': margin_driver},
            {'weight': coalesce(-abs(service_impact), 'infinity'::double), 'criterion': 'service', 'driver': service_driver},
            {'weight': coalesce(-abs(payment_impact), 'infinity'::double), 'criterion': 'payment', 'driver': payment_driver},
            {'weight': coalesce(-abs(trend_impact), 'infinity'::double), 'criterion': 'trend', 'driver': trend_driver},
            {'weight': coalesce(-abs(potential_impact), 'infinity'::double), 'criterion': 'potential', 'driver': potential_driver}
        ])[1:3], lambda d: d.driver), '; ') as top_drivers
    from drivers

),

final as (

    select
        classified.customer_id,
        classified.value_class,
        classified.value_score,
        top_drivers.top_drivers,
        -- worth: predicted margin CLV of the next 12 months where the models could be fitted,
        -- else the margin of the last 365 days; cost: service cost of the last 365 days
        case
            when classified.margin_after_service_eur < 0
                and coalesce(predicted.predicted_margin_clv_eur,
                             classified.contribution_margin_365d_eur)
                    - classified.service_cost_365d_eur <= 0
                and classified.potential_score < 0.5
                then 'let_go'
            when classified.service_cost_365d_eur > 0
                and classified.service_cost_365d_eur >= {{ var('service_eats_margin_share') }}
                    * greatest(coalesce(predicted.predicted_margin_clv_eur,
                                        classified.contribution_margin_365d_eur), 0)
                and classified.potential_score < 0.6
                then 'reduce_effort'
            when (classified.value_class in ('A', 'B') and classified.trend_score >= 0.5)
                or classified.potential_score >= 0.6
                then 'invest'
            else 'maintain'
        end as worth_it,
        coalesce(predicted.predicted_margin_clv_eur, classified.contribution_margin_365d_eur)
            as expected_margin_12m_eur,
        case when predicted.customer_id is not null then 'predicted margin CLV'
            else 'margin of the last 365 days' end as worth_basis,
        classified.is_key_account,
        classified.is_key_account
            and classified.service_cost_eur >= {{ var('service_eats_margin_share') }}
                * greatest(classified.contribution_margin_eur, 0)
            and classified.service_cost_eur > 0
            as is_key_account_eaten_by_service,
        classified.value_class in ('D', 'E') and classified.potential_score >= 0.6
            as is_low_value_high_potential,
        ----------  the money
        classified.net_revenue_eur,
        classified.cogs_eur,
        classified.discounts_eur,
        classified.shipping_cost_eur,
        classified.payment_fee_eur,
        classified.contribution_margin_eur,
        classified.service_cost_eur,
        classified.margin_after_service_eur,
        classified.contribution_margin_365d_eur,
        classified.service_cost_365d_eur,
        ----------  payment behaviour
        classified.orders_placed_count,
        classified.paid_orders_count,
        classified.unpaid_orders_count,
        classified.voided_orders_count,
        classified.refunded_orders_count,
        classified.partially_refunded_orders_count,
        classified.avg_days_to_pay,
        classified.outstanding_eur,
        classified.refund_rate,
        ----------  potential
        classified.industry,
        classified.employee_count,
        classified.open_deal_amount_eur,
        classified.net_revenue_recent_eur,
        classified.net_revenue_previous_eur,
        ----------  criterion scores (0–1)
        round(classified.margin_score, 4) as margin_score,
        round(classified.trend_score, 4) as trend_score,
        round(classified.payment_score, 4) as payment_score,
        round(classified.service_score, 4) as service_score,
        classified.potential_score
    from classified
    left join top_drivers
        on classified.customer_id = top_drivers.customer_id
    left join predicted
        on classified.customer_id = predicted.customer_id

)

select
    final.*,
    case worth_it
        when 'invest' then 'investieren'
        when 'maintain' then 'halten'
        when 'reduce_effort' then 'Aufwand senken'
        when 'let_go' then 'loslassen / weiterempfehlen'
    end as worth_it_de
from final
