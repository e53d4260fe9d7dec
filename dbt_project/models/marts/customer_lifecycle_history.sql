-- Lifecycle stage of every buyer at every month end (and at the analysis date), rebuilt
-- from the orders each time: a month's row depends only on what happened up to that
-- date, so the history is the same whether built in one run or month by month.
-- Rules (first match, all thresholds lifecycle_* vars):
--   churned      no order for > churned_factor × own rhythm and ≥ churned_min_days
--   at_risk      no order for > at_risk_factor × own rhythm and ≥ at_risk_min_days,
--                or unsubscribed from the newsletter in the last unsubscribe_risk_days
--   reactivated  latest order came after a churn-length gap, within reactivated_days
--   new          first order within new_days
--   loyal        ≥ loyal_min_orders orders
--   active       everyone else who has bought
-- Own rhythm = average days between the customer's orders so far (at_risk_min_days when
-- there is only one order). People without a purchase yet are prospects (see
-- customer_lifecycle), not part of this history.
-- Incremental (design note 19): a month end already built is kept unless something that
-- can change it arrived since: orders loaded since the last build (their earliest order
-- day and every snapshot after it are rebuilt) or a newsletter audience export (its
-- unsubscribe times reach back: everything is rebuilt). Snapshot dates that are new
-- (the moved analysis date) are built; those no longer wanted are dropped (post-hook).
-- An incremental build reads the order days only of the buyers with an order after the
-- last snapshot it keeps; everyone else is carried from that snapshot (design note 36).
{{ config(
    materialized='incremental', incremental_strategy='delete+insert',
    unique_key='snapshot_date',
    post_hook="{{ drop_unwanted_snapshots() }}"
) }}

with

orders as (

    select * from {{ ref('int_orders_enriched') }}
    where customer_id is not null and is_revenue_order

),

snapshot_dates as (

    select
        snapshot_date,
        lag(snapshot_date) over (order by snapshot_date) as previous_snapshot_date
    from {{ ref('int_lifecycle_snapshot_dates') }}

),

snapshots as (

    -- the snapshot dates this build writes
    select * from snapshot_dates
    {% if is_incremental() %}
    where snapshot_date >= (
        -- the earliest day a change since the last build can reach
        select least(
            (select min(order_date) from {{ ref('int_orders_enriched') }}
                where _loaded_at > previous_build.built_at),
            (select date '0001-01-01' from {{ ref('stg_newsletter__members') }}
                where _loaded_at > previous_build.built_at limit 1)
        )
        from (select max(built_at) as built_at from {{ this }}) as previous_build
    )
        or snapshot_date not in (select distinct snapshot_date from {{ this }})
    {% endif %}

),

{% if is_incremental() %}
kept as (

    -- the latest snapshot kept from the last build before every date this build writes
    -- (design note 36): no change since the last build reaches it (else it would be
    -- written now), so a buyer without an order day after it is, at every date written,
    -- as there. Only the others' order days are read.
    select max(snapshot_date) as snapshot_date
    from {{ this }}
    where snapshot_date < (select min(snapshot_date) from snapshots)
        and snapshot_date in (select snapshot_date from snapshot_dates)

),

recent_buyers as (

    -- everyone when nothing is kept
    select distinct customer_id
    from orders
    where order_date > coalesce((select snapshot_date from kept), date '0001-01-01')

),
{% endif %}

members as (

    select
        {{ customer_key('email_normalised') }} as customer_id,
        unsubscribed_at
    from {{ ref('stg_newsletter__members') }}
    where {{ is_matchable_email('email_normalised') }}

),

order_dates as (

    -- one row per order day; it describes the customer from that day until the next
    select
        customer_id,
        order_date,
        row_number() over by_customer as orders_to_date,
        min(order_date) over (partition by customer_id) as first_order_date,
        lag(order_date) over by_customer as previous_order_date,
        coalesce(lead(order_date) over by_customer, date '9999-12-31') as next_order_date
    from (
        select distinct customer_id, order_date from orders
        {% if is_incremental() %}
        where customer_id in (select customer_id from recent_buyers)
        {% endif %}
    )
    window by_customer as (partition by customer_id order by order_date)

),

history as (

    -- each snapshot meets exactly the customer's latest order day on or before it
    -- (a range join, one output row per buyer and snapshot; no per-row lists)
    select
        order_dates.customer_id,
        snapshots.snapshot_date,
        order_dates.orders_to_date,
        order_dates.first_order_date,
        order_dates.order_date as last_order_date,
        order_dates.order_date - order_dates.previous_order_date as last_gap_days
    from order_dates
    inner join snapshots
        on snapshots.snapshot_date >= order_dates.order_date
        and snapshots.snapshot_date < order_dates.next_order_date
    {% if is_incremental() %}
    union all
    -- everyone else: what they were at the kept snapshot, unchanged since
    select
        kept_rows.customer_id,
        snapshots.snapshot_date,
        kept_rows.orders_to_date,
        kept_rows.first_order_date,
        kept_rows.last_order_date,
        kept_rows.last_gap_days
    from {{ this }} as kept_rows
    cross join snapshots
    where kept_rows.snapshot_date = (select snapshot_date from kept)
        and not exists (
            select 1 from recent_buyers
            where recent_buyers.customer_id = kept_rows.customer_id
        )
    {% endif %}

),

measured as (

    select
        customer_id,
        snapshot_date,
        orders_to_date,
        first_order_date,
        last_order_date,
        last_gap_days,
        case
            when orders_to_date > 1
                then (last_order_date - first_order_date) / (orders_to_date - 1)
        end as rhythm_days,
        snapshot_date - last_order_date as days_since_last_order,
        snapshot_date - first_order_date as days_since_first_order
    from history

),

with_rhythm as (

    select
        measured.*,
        coalesce(rhythm_days, {{ var('lifecycle_at_risk_min_days') }}) as own_rhythm_days,
        members.unsubscribed_at is not null
            and cast(members.unsubscribed_at as date) <= snapshot_date
            and cast(members.unsubscribed_at as date)
                > snapshot_date - {{ var('lifecycle_unsubscribe_risk_days') }}
            as unsubscribed_recently
    from measured
    left join members
        on measured.customer_id = members.customer_id

),

staged as (

    select
        *,
        case
            when days_since_last_order > greatest(
                {{ var('lifecycle_churned_min_days') }},
                {{ var('lifecycle_churned_factor') }} * own_rhythm_days
            ) then 'churned'
            when days_since_last_order > greatest(
                {{ var('lifecycle_at_risk_min_days') }},
                {{ var('lifecycle_at_risk_factor') }} * own_rhythm_days
            ) or unsubscribed_recently then 'at_risk'
            when last_gap_days > greatest(
                {{ var('lifecycle_churned_min_days') }},
                {{ var('lifecycle_churned_factor') }} * coalesce(
                    (last_order_date - first_order_date - last_gap_days)
                    / nullif(orders_to_date - 2, 0),
                    {{ var('lifecycle_at_risk_min_days') }}
                )
            ) and days_since_last_order <= {{ var('lifecycle_reactivated_days') }}
                then 'reactivated'
            when days_since_first_order <= {{ var('lifecycle_new_days') }} then 'new'
            when orders_to_date >= {{ var('lifecycle_loyal_min_orders') }} then 'loyal'
            else 'active'
        end as lifecycle_stage
    from with_rhythm

),

{% if is_incremental() %}
earlier_stages as (

    -- the stage at each written snapshot's predecessor: written now, or kept
    select customer_id, snapshot_date, lifecycle_stage from staged
    union all
    select customer_id, snapshot_date, lifecycle_stage
    from {{ this }}
    where snapshot_date in (select previous_snapshot_date from snapshots)
        and snapshot_date not in (select snapshot_date from snapshots)

),

sequenced as (

    -- the row at the snapshot before (none: not a buyer yet), as the lag below gives it
    select
        staged.*,
        earlier_stages.lifecycle_stage as previous_stage
    from staged
    inner join snapshots
        on staged.snapshot_date = snapshots.snapshot_date
    left join earlier_stages
        on staged.customer_id = earlier_stages.customer_id
        and snapshots.previous_snapshot_date = earlier_stages.snapshot_date

)
{% else %}
sequenced as (

    -- a buyer has a row at every snapshot from the first order on, so the row before is
    -- the snapshot before (none: not a buyer yet). Computed here once, not in each model
    -- that counts moves between month ends (kpi_monthly, lifecycle_transitions).
    select
        *,
        lag(lifecycle_stage) over (
            partition by customer_id order by snapshot_date
        ) as previous_stage
    from staged

)
{% endif %}

select
    customer_id || '|' || cast(snapshot_date as varchar) as customer_snapshot_id,
    customer_id,
    snapshot_date,
    lifecycle_stage,
    previous_stage,
    orders_to_date,
    first_order_date,
    last_order_date,
    last_gap_days,
    days_since_last_order,
    round(own_rhythm_days, 1) as own_rhythm_days,
    round(days_since_last_order / own_rhythm_days, 2) as overdue_ratio,
    unsubscribed_recently,
    {{ build_time() }} as built_at
from sequenced
{% if is_incremental() %}
where snapshot_date in (select snapshot_date from snapshots)
{% endif %}
