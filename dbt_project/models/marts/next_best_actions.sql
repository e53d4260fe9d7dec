-- Exactly one prioritised action per person (seed 001: measures must not contradict —
-- nobody gets a win-back bonus and an upsell at once). Eligibility per action below;
-- priorities, channels and consent needs come from seeds/action_catalogue.csv; the
-- eligible action with the lowest priority wins. Actions that need marketing consent are
-- never chosen for people without it (unsubscribed / cleaned never have it).
with

dim as (

    select * from {{ ref('dim_customers') }}

),

lifecycle as (

    select * from {{ ref('customer_lifecycle') }}

),

customer_value as (

    select * from {{ ref('customer_value') }}

),

risk as (

    select * from {{ ref('customer_churn_risk') }}

),

actions as (

    select * from {{ ref('action_catalogue') }}

),

signals as (

    select
        dim.customer_id,
        dim.has_marketing_consent,
        dim.company_name is not null as is_b2b,
        dim.relationship_segment,
        dim.tickets_365d_count,
        dim.first_order_date,
        dim.as_of_date,
        lifecycle.lifecycle_stage,
        customer_value.value_class,
        customer_value.worth_it,
        customer_value.is_key_account,
        customer_value.trend_score,
        customer_value.open_deal_amount_eur,
        customer_value.net_revenue_previous_eur,
        coalesce(risk.risk_score, 0) as risk_score,
        coalesce(risk.risk_score, 0) >= {{ var('churn_worklist_min_risk') }}
            as is_on_worklist,
        risk.reasons as risk_reasons,
        customer_value.top_drivers
    from dim
    left join lifecycle using (customer_id)
    left join customer_value using (customer_id)
    left join risk using (customer_id)

),

eligible as (

    select customer_id, 'let_go' as action,
        top_drivers as reason
    from signals where worth_it = 'let_go'
    union all
    select customer_id, 'personal_call',
        'class ' || value_class || ' customer '
        || case when lifecycle_stage = 'at_risk' then 'at risk' else 'on the worklist' end
        || coalesce(': ' || nullif(risk_reasons, ''), '')
    from signals
    where (value_class in ('A', 'B') or is_key_account)
        and (lifecycle_stage = 'at_risk' or is_on_worklist)
        and (is_b2b or has_marketing_consent)
    union all
    select customer_id, 'win_back',
        lifecycle_stage || coalesce(': ' || nullif(risk_reasons, ''), '')
    from signals
    where lifecycle_stage in ('at_risk', 'churned') or is_on_worklist
    union all
    select customer_id, 'welcome_package',
        'first order on ' || cast(first_order_date as varchar)
    from signals
    where lifecycle_stage = 'new'
        and as_of_date - first_order_date <= {{ var('nba_welcome_days') }}
    union all
    select customer_id, 'upsell',
        case
            when open_deal_amount_eur > 0
                then 'open deal ' || cast(round(open_deal_amount_eur) as bigint) || ' €'
            else 'growing account (class ' || value_class || ')'
        end
    from signals
    where lifecycle_stage in ('new', 'active', 'loyal', 'reactivated')
        and (
            (trend_score >= {{ var('nba_upsell_min_trend') }}
                and net_revenue_previous_eur > 0
                and value_class in ('A', 'B', 'C'))
            or open_deal_amount_eur > 0
        )
    union all
    select customer_id, 'involvement', 'a fan: ' || relationship_segment
    from signals where relationship_segment = 'Fans'
    union all
    select customer_id, 'event_invitation',
        coalesce(relationship_segment, '') || ', class ' || value_class
    from signals
    where relationship_segment = 'Heavy users'
        or (value_class = 'A' and lifecycle_stage = 'loyal')
    union all
    select customer_id, 'service_tips',
        case when tickets_365d_count > 0
            then tickets_365d_count || ' ticket(s) in the last year' else 'still new' end
    from signals
    where tickets_365d_count > 0 or lifecycle_stage = 'new'
    union all
    select customer_id, 'value_content', 'has marketing consent'
    from signals where has_marketing_consent
    union all
    select customer_id, 'no_action',
        case when has_marketing_consent then 'nothing else applies'
            else 'no marketing consent' end
    from signals

),

allowed as (

    select
        eligible.*,
        actions.priority,
        actions.channel,
        actions.audience,
        actions.label_en,
        actions.label_de
    from eligible
    inner join actions
        on eligible.action = actions.action
    inner join signals
        on eligible.customer_id = signals.customer_id
    where not actions.needs_marketing_consent or signals.has_marketing_consent

),

-- the winning action per person is chosen on (action, priority) alone and its row
-- joined back: a row_number over the whole rows (reasons, labels) became an arg_min of
-- every column that took most of this model on L (4.3-4.8 -> 2.9-3.1 s, same rows).
-- An action occurs once per person in `allowed`, so the join keeps exactly one row.
chosen as (

    select
        customer_id,
        arg_min(action, priority) as action
    from allowed
    group by customer_id

)

select
    allowed.customer_id,
    allowed.action,
    allowed.label_en,
    allowed.label_de,
    allowed.channel,
    allowed.audience,
    allowed.priority,
    allowed.reason
from allowed
inner join chosen
    on allowed.customer_id = chosen.customer_id
    and allowed.action = chosen.action
