-- Churn early warning (seed 000: "recognise in time when a customer's attention fades").
-- Risk 0–1 per buyer not yet churned, from signals weighted by var churn_risk_weights:
--   overdue      days since the last order against the customer's own rhythm
--                (0 when on time, 1 at three times the usual gap)
--   newsletter   received newsletters in the engagement window but opened none,
--                although they used to open them
--   complaint    a complaint, urgent ticket or detractor feedback recently
--   unsubscribe  unsubscribed from the newsletter recently
--   dropout      1 − P(alive) from the BG/NBD model (customer_clv); where the model could
--                not be fitted, the overdue signal stands in for it
-- One row per buyer not yet churned, with the reasons in words, the value at risk
-- (contribution margin after service of the last 365 days) and whether saving them is
-- worth it (customer_value.worth_it). churn_worklist keeps those at or above
-- churn_worklist_min_risk.
{%- set w = var('churn_risk_weights') %}
with

lifecycle as (

    select * from {{ ref('customer_lifecycle') }}
    where lifecycle_stage not in ('prospect', 'churned')

),

engagement as (

    select * from {{ ref('int_customer_engagement_aggregated') }}

),

service as (

    select * from {{ ref('int_customer_service_aggregated') }}

),

customer_value as (

    select * from {{ ref('customer_value') }}

),

clv as (

    select customer_id, p_alive, predicted_margin_clv_eur
    from {{ ref('customer_clv') }}

),

signals as (

    select
        lifecycle.customer_id,
        lifecycle.lifecycle_stage,
        lifecycle.stage_month_before,
        lifecycle.days_since_last_order,
        lifecycle.own_rhythm_days,
        lifecycle.overdue_ratio,
        least(1.0, greatest(0.0, (coalesce(lifecycle.overdue_ratio, 0) - 1) / 2.0))
            as overdue_signal,
        coalesce(
            engagement.campaigns_received_window >= 2
            and engagement.campaigns_opened_window = 0
            and engagement.campaigns_opened_total > 0,
            false
        ) as stopped_opening,
        coalesce(service.recent_complaints_count, 0)
            + coalesce(service.recent_detractor_feedback_count, 0) as recent_complaints,
        coalesce(lifecycle.unsubscribed_recently, false) as unsubscribed_recently,
        clv.p_alive,
        clv.predicted_margin_clv_eur,
        coalesce(
            1 - clv.p_alive,
            least(1.0, greatest(0.0, (coalesce(lifecycle.overdue_ratio, 0) - 1) / 2.0))
        ) as dropout_signal,
        customer_value.value_class,
        customer_value.worth_it,
        customer_value.contribution_margin_365d_eur
            - customer_value.service_cost_365d_eur as value_at_risk_eur
    from lifecycle
    left join engagement
        on lifecycle.customer_id = engagement.customer_id
    left join service
        on lifecycle.customer_id = service.customer_id
    left join customer_value
        on lifecycle.customer_id = customer_value.customer_id
    left join clv
        on lifecycle.customer_id = clv.customer_id

),

scored as (

    select
        *,
        round((
            {{ w.overdue }} * overdue_signal
            + {{ w.newsletter }} * stopped_opening::int
            + {{ w.complaint }} * least(recent_complaints, 1)
            + {{ w.unsubscribe }} * unsubscribed_recently::int
            + {{ w.dropout }} * dropout_signal
        ) / {{ w.overdue + w.newsletter + w.complaint + w.unsubscribe + w.dropout }}, 4)
            as risk_score
    from signals

),

final as (

    select
        customer_id,
        risk_score,
        lifecycle_stage,
        concat_ws('; ',
            case when overdue_ratio > 1 then 'overdue ×' || round(overdue_ratio, 1)
                || ' against own rhythm (' || cast(round(own_rhythm_days) as bigint)
                || ' days)' end,
            case when stage_month_before is not null
                and stage_month_before <> lifecycle_stage
                then 'stage ' || stage_month_before || ' → ' || lifecycle_stage end,
            case when stopped_opening then 'stopped opening newsletters' end,
            case when recent_complaints > 0 then 'complaint or detractor feedback recently' end,
            case when unsubscribed_recently then 'unsubscribed from the newsletter' end,
            case when p_alive < 0.5 then 'P(alive) ' || cast(round(100 * p_alive) as bigint)
                || ' % (BG/NBD: silence long for their purchase rate)' end
        ) as reasons,
        greatest(value_at_risk_eur, 0) as value_at_risk_eur,
        round(p_alive, 4) as p_alive,
        predicted_margin_clv_eur,
        value_class,
        worth_it in ('invest', 'maintain') as is_worth_saving,
        days_since_last_order,
        own_rhythm_days
    from scored

)

select * from final
