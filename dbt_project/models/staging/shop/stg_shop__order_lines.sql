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

-- one window, one sort of the lines by order (design note 30): the file an order is
-- taken from is the one loaded last (first in this order), and a line's number is its
-- place among that file's line items with a name or SKU — that file's rows come first,
-- in file order, so a running count of those rows numbers them. Two windows (the file
-- per order, then the numbering after the filter) sorted all 10 M lines twice.
versioned as (

    select
        *,
        first_value(_source_file) over by_version as chosen_file,
        count(*) filter (where lineitem_name is not null or lineitem_sku is not null)
            over by_version as line_number
    from source
    window by_version as (
        partition by order_name
        order by _loaded_at desc, _source_file desc, _source_line
        rows between unbounded preceding and current row
    )

),

renamed as (

    select
        order_name || '-' || cast(line_number as varchar) as order_line_id,
        order_name as order_id,
        line_number,
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
