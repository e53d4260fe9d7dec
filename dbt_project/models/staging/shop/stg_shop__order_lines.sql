-- One row per line item, from the same export file as its order.
-- Incremental like stg_shop__orders: the lines of every order in the newly loaded files
-- replace that order's earlier lines.
{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key='order_id') }}

with

source as (

    select * from {{ source('shop', 'orders') }}
    {{ incremental_batch() }}

),

versioned as (

    select
        *,
        first_value(_source_file) over (
            partition by order_name
            order by _loaded_at desc, _source_file desc
        ) as chosen_file
    from source

),

renamed as (

    select
        order_name || '-' || cast(row_number() over (
            partition by order_name order by _source_line
        ) as varchar) as order_line_id,
        order_name as order_id,
        row_number() over (
            partition by order_name order by _source_line
        ) as line_number,
        nullif(trim(lineitem_sku), '') as sku,
        coalesce(
            nullif(split_part(trim(lineitem_sku), '-', 1), ''), '*'
        ) as sku_prefix,
        lineitem_name as product_name,
        coalesce(lineitem_quantity, 1) as quantity,
        coalesce(lineitem_price, 0) as unit_price_amount,
        coalesce(lineitem_quantity, 1) * coalesce(lineitem_price, 0) as line_amount,
        coalesce(lineitem_discount, 0) as line_discount_amount,
        vendor,
        _source_file,
        _source_line,
        _loaded_at
    from versioned
    where _source_file = chosen_file
      and (lineitem_name is not null or lineitem_sku is not null)

)

select *, {{ build_time() }} as built_at from renamed
