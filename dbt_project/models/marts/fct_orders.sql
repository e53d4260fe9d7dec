-- One row per shop order up to the analysis date (cancelled ones included, flagged).
-- Incremental like int_orders_enriched (design note 17).
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

final as (

    select * exclude (_source_file, _source_line, _loaded_at, built_at),
        _source_file as source_file,
        _source_line as source_line,
        _loaded_at as loaded_at,
        {{ build_time() }} as built_at
    from orders

)

select * from final
