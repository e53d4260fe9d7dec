-- One row per order line item of the orders in fct_orders.
-- Incremental like fct_orders: the lines of the orders that changed (design note 17).
{{ config(
    materialized='incremental', incremental_strategy='delete+insert', unique_key='order_id',
    post_hook="{{ drop_after_analysis_date('order_date') }}"
) }}
-- depends_on: {{ ref('int_analysis_date') }}

with

orders as (

    select * from {{ ref('int_orders_enriched') }}
    {{ incremental_batch(this_loaded_at='loaded_at', date='order_date', this_date='order_date') }}

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

final as (

    select
        lines.order_line_id,
        lines.order_id,
        orders.customer_id,
        orders.order_date,
        lines.line_number,
        lines.sku,
        lines.sku_prefix,
        coalesce(rate.category, fallback.category) as product_category,
        lines.product_name,
        lines.quantity,
        lines.unit_price_amount as unit_price_eur,
        lines.line_amount as line_amount_eur,
        coalesce(rate.cogs_rate, fallback.cogs_rate) as cogs_rate,
        orders.is_cancelled,
        orders._loaded_at as loaded_at,
        {{ build_time() }} as built_at
    from lines
    inner join orders
        on lines.order_id = orders.order_id
    left join cost_rates as rate
        on lines.sku_prefix = rate.sku_prefix
    cross join (
        select category, cogs_rate from cost_rates where sku_prefix = '*'
    ) as fallback

)

select * from final
