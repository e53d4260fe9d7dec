-- One row per shop order up to the analysis date (cancelled ones included, flagged).
-- Incremental like int_orders_enriched (design note 17).
{{ config(
    materialized='incremental', incremental_strategy='delete+insert', unique_key='order_id',
    post_hook="delete from {{ this }} where order_date > (select as_of_date from "
              ~ "{{ ref('int_analysis_date') }})"
) }}
-- depends_on: {{ ref('int_analysis_date') }}

with

orders as (

    select * from {{ ref('int_orders_enriched') }}
    {% if is_incremental() %}
    where _loaded_at > (select coalesce(max(loaded_at), '-infinity') from {{ this }})
        or order_date > (select coalesce(max(order_date), '-infinity') from {{ this }})
    {% endif %}

),

final as (

    select * exclude (_source_file, _source_line, _loaded_at),
        _source_file as source_file,
        _source_line as source_line,
        _loaded_at as loaded_at
    from orders

)

select * from final
