-- The churn early-warning worklist: buyers with risk ≥ churn_worklist_min_risk, worth
-- saving first, then by risk × value at risk. Reasons in words, e.g. "overdue ×2.3
-- against own rhythm (40 days); stopped opening newsletters".
with

risk as (

    select * from {{ ref('customer_churn_risk') }}
    where risk_score >= {{ var('churn_worklist_min_risk') }}

)

select
    row_number() over (
        order by is_worth_saving desc, risk_score * (1 + value_at_risk_eur) desc, customer_id
    ) as worklist_rank,
    *
from risk
