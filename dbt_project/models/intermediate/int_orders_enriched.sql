-- Orders up to the analysis date, with customer, net revenue and cost of serving them.
-- Net revenue = total − refunded amount; 0 for cancelled orders (DESIGN.md §5).
-- Incremental (design note 17): a run takes the orders loaded since the last build plus
-- those the moved analysis date brings into scope, and drops orders after the analysis
-- date (when it was set back).
{{ config(
    materialized='incremental', incremental_strategy='delete+insert', unique_key='order_id',
    post_hook="{{ drop_after_analysis_date('order_date') }}"
) }}

with

-- read three times (the orders in scope, their addresses, the wide rows): batch_cte
orders as {{ batch_cte() }} (

    select * from {{ ref('stg_shop__orders') }}
    {{ incremental_batch(date=local_date('ordered_at'), this_date='order_date', since='ordered_at') }}

),

lines as (

    select * from {{ ref('stg_shop__order_lines') }}
    {% if is_incremental() %}
    where order_id in (select order_id from orders)
    {% endif %}

),

cost_rates as (

    select * from {{ ref('cost_rates') }}

),

analysis_date as (

    select * from {{ ref('int_analysis_date') }}

),

line_costs as (

    select
        lines.order_id,
        count(*) as line_count,
        sum(lines.quantity) as item_count,
        sum(lines.line_amount) as line_amount,
        sum(
            lines.line_amount
            * coalesce(rate.cogs_rate, fallback.cogs_rate)
        ) as cogs_at_list_price_gross
    from lines
    left join cost_rates as rate
        on lines.sku_prefix = rate.sku_prefix
    cross join (
        select cogs_rate from cost_rates where sku_prefix = '*'
    ) as fallback
    group by lines.order_id

),

-- the orders up to the analysis date, narrow: key, address and local date (converted
-- once; the time-zone conversion of 6 M orders costs ~0.8 s); read twice, each read
-- takes its columns
in_scope as not materialized (

    select dated.*
    from (
        select order_id, email_normalised, {{ local_date('ordered_at') }} as order_date
        from orders
    ) as dated
    where dated.order_date <= (select as_of_date from analysis_date)

),

buyer_keys as (

    -- the identity rule of int_identities_matched for an order, applied in place (a
    -- join of 6 M orders with 6 M identity rows ran out of memory on the 1 M-customer
    -- data set): a matchable e-mail is the person, anything else no one. Each distinct
    -- address is checked and keyed once, not once per order.
    {{ customer_keys_by_address('in_scope') }}

),

amounts as (

    select
        orders.*,
        keyed.order_date,
        keyed.customer_id,
        coalesce(keyed.line_count, 0) as line_count,
        coalesce(keyed.item_count, 0) as item_count,
        case
            when total_amount > 0
                then least(refunded_amount / total_amount, 1)
            else 0
        end as refund_share,
        case
            when total_amount > tax_amount and total_amount > 0
                then tax_amount / (total_amount - tax_amount)
            else 0
        end as vat_rate,
        coalesce(keyed.cogs_at_list_price_gross, 0) as cogs_gross
    from orders
    -- customer and line costs are joined to the narrow orders in scope, and the result
    -- to the wide rows: DuckDB builds its hash table on the side it estimates smaller,
    -- and it estimates the date filter to leave a few hundred orders. Joined to the
    -- wide orders directly, it kept all 6 M wide rows in the hash table (5 GB, spilling
    -- on L); this way the table holds narrow rows (2.7 GB, no spill; design note 35).
    inner join (
        select
            in_scope.order_id,
            in_scope.order_date,
            buyer_keys.customer_id,
            line_costs.line_count,
            line_costs.item_count,
            line_costs.cogs_at_list_price_gross
        from in_scope
        left join buyer_keys
            on in_scope.email_normalised = buyer_keys.email_normalised
        left join line_costs
            on in_scope.order_id = line_costs.order_id
    ) as keyed
        on orders.order_id = keyed.order_id

),

final as (

    select
        order_id,
        shopify_order_id,
        customer_id,
        ordered_at,
        order_date,
        paid_at,
        cancelled_at,
        financial_status,
        fulfillment_status,
        is_cancelled,
        accepts_marketing,
        currency,
        discount_code,
        sales_channel,
        billing_company,
        billing_country,
        line_count,
        item_count,
        subtotal_amount as subtotal_eur,
        shipping_amount as shipping_eur,
        tax_amount as tax_eur,
        total_amount as total_eur,
        discount_amount as discount_eur,
        case when is_cancelled then 0 else refunded_amount end as refunded_eur,
        outstanding_amount as outstanding_eur,
        case
            when is_cancelled then 0 else total_amount - refunded_amount
        end as net_revenue_eur,
        case
            when is_cancelled then 0
            else round((total_amount - tax_amount) * (1 - refund_share), 2)
        end as net_revenue_ex_vat_eur,
        case
            when is_cancelled then 0
            else round(cogs_gross / (1 + vat_rate) * (1 - refund_share), 2)
        end as cogs_eur,
        case
            when is_cancelled or refund_share >= 1 then 0
            else {{ var('fulfilment_cost_per_order_eur') }}
        end as fulfilment_cost_eur,
        case
            when is_cancelled then 0
            else round(
                (total_amount - refunded_amount) * {{ var('payment_fee_rate') }}, 2
            )
        end as payment_fee_eur,
        not is_cancelled and total_amount - refunded_amount > 0 as is_revenue_order,
        -- a purchase event for the CLV models: not cancelled, not fully refunded; a 0 €
        -- order (free sample, 100 % voucher) counts, as in the CDNOW data and lifetimes
        not is_cancelled
            and (total_amount = 0 or refunded_amount < total_amount) as is_purchase,
        _source_file,
        _source_line,
        _loaded_at,
        {{ build_time() }} as built_at
    from amounts

)

select
    * replace (
        cast(net_revenue_ex_vat_eur as decimal(18, 2)) as net_revenue_ex_vat_eur,
        cast(cogs_eur as decimal(18, 2)) as cogs_eur,
        cast(fulfilment_cost_eur as decimal(18, 2)) as fulfilment_cost_eur,
        cast(payment_fee_eur as decimal(18, 2)) as payment_fee_eur
    ),
    cast(
        net_revenue_ex_vat_eur - cogs_eur - fulfilment_cost_eur - payment_fee_eur
        as decimal(18, 2)
    ) as contribution_margin_eur
from final
