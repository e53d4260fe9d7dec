-- Per-buyer purchase summary for the probabilistic CLV models (BG/NBD, Gamma-Gamma), as of
-- the analysis date, in the conventions of Fader, Hardie & Lee (2005) / lifetimes:
--   frequency     = number of repeat purchase *days* (several orders on one day count once;
--                   the first purchase day does not count)
--   recency_days  = days from the first to the last purchase day
--   t_days        = days from the first purchase day to the analysis date
--   mean_repeat_spend_eur = mean net revenue per repeat purchase day (first day excluded)
-- A purchase is an order that was neither cancelled nor fully refunded (a 0 € order counts,
-- as in CDNOW / lifetimes; see int_orders_enriched.is_purchase). Orders after the analysis
-- date form the hold-out period used by the back-test (holdout_* columns).
with

analysis_date as (

    select * from {{ ref('int_analysis_date') }}

),

summary as (

    -- the purchase-day summary of the buyers (int_customer_order_totals, incremental by
    -- customer, design note 29: it does not depend on the analysis date)
    select
        customer_id,
        first_purchase_date,
        last_purchase_date,
        frequency,
        mean_repeat_spend_eur
    from {{ ref('int_customer_order_totals') }}
    where first_purchase_date is not null

),

-- orders after the analysis date (int_orders_enriched stops at it): only those are
-- converted and keyed (all 6 M orders joined with their identities took half of this
-- model on L). A local date after the analysis date is a UTC time after 10:00 on it
-- (offsets ≤ +14 h), so the UTC pre-filter keeps every such order.
later_orders as (

    select
        orders.order_id,
        {{ local_date('orders.ordered_at') }} as order_date
    from {{ ref('stg_shop__orders') }} as orders
    cross join analysis_date
    where orders.ordered_at >= cast(analysis_date.as_of_date as timestamp)
        and {{ local_date('orders.ordered_at') }} > analysis_date.as_of_date
        and not orders.is_cancelled
        and (orders.total_amount = 0 or orders.refunded_amount < orders.total_amount)

),

order_identities as (

    select source_record_id as order_id, customer_id
    from {{ ref('int_identities_matched') }}
    where record_type = 'order'

),

data_end as (

    select {{ latest_local_date(ref('stg_shop__orders'), 'ordered_at') }}
        as last_order_date_in_data

),

holdout as (

    select
        order_identities.customer_id,
        count(distinct later_orders.order_date) as holdout_repeat_purchases
    from later_orders
    inner join order_identities
        on later_orders.order_id = order_identities.order_id
    group by order_identities.customer_id

),

final as (

    select
        summary.customer_id,
        analysis_date.as_of_date,
        summary.first_purchase_date,
        summary.last_purchase_date,
        summary.frequency,
        summary.last_purchase_date - summary.first_purchase_date as recency_days,
        analysis_date.as_of_date - summary.first_purchase_date as t_days,
        cast(summary.mean_repeat_spend_eur as double) as mean_repeat_spend_eur,
        greatest(data_end.last_order_date_in_data - analysis_date.as_of_date, 0)
            as holdout_days,
        coalesce(holdout.holdout_repeat_purchases, 0) as holdout_repeat_purchases
    from summary
    cross join analysis_date
    cross join data_end
    left join holdout
        on summary.customer_id = holdout.customer_id

)

select * from final
