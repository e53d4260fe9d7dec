-- RFM per buyer as of the analysis date (DESIGN.md §5).
-- Scores 1–5 by quintile: score = 1 + floor(5 × percent_rank), ties share a score;
-- recency ranks fewer days higher. Segments: seeds/rfm_segments.csv, first match wins.
with

customer_orders as (

    select * from {{ ref('int_customer_orders_aggregated') }}
    where orders_count > 0

),

segments as (

    select * from {{ ref('rfm_segments') }}

),

analysis_date as (

    select * from {{ ref('int_analysis_date') }}

),

base as (

    select
        customer_id,
        days_since_last_order as recency_days,
        orders_count as frequency_orders,
        net_revenue_eur as monetary_eur
    from customer_orders

),

scored as (

    select
        *,
        least(5, 1 + floor(5 * percent_rank() over (
            order by recency_days desc
        )))::integer as r_score,
        least(5, 1 + floor(5 * percent_rank() over (
            order by frequency_orders
        )))::integer as f_score,
        least(5, 1 + floor(5 * percent_rank() over (
            order by monetary_eur
        )))::integer as m_score
    from base

),

matched as (

    select
        scored.*,
        segments.segment as rfm_segment,
        segments.label_de as rfm_segment_de,
        row_number() over (
            partition by scored.customer_id order by segments.priority
        ) as match_rank
    from scored
    left join segments
        on scored.r_score between segments.r_min and segments.r_max
        and scored.f_score between segments.f_min and segments.f_max
        and scored.m_score between segments.m_min and segments.m_max

),

final as (

    select
        customer_id,
        analysis_date.as_of_date,
        recency_days,
        frequency_orders,
        monetary_eur,
        r_score,
        f_score,
        m_score,
        cast(r_score as varchar) || cast(f_score as varchar)
            || cast(m_score as varchar) as rfm_score,
        coalesce(rfm_segment, 'Unclassified') as rfm_segment,
        rfm_segment_de
    from matched
    cross join analysis_date
    where match_rank = 1

)

select * from final
