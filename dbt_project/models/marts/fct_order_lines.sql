-- One row per order line item of the orders in fct_orders.
with

lines as (

    select * from {{ ref('stg_shop__order_lines') }}

),

orders as (

    select * from {{ ref('int_orders_enriched') }}

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
        orders.is_cancelled
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
