-- One row per shop order up to the analysis date (cancelled ones included, flagged).
with

orders as (

    select * from {{ ref('int_orders_enriched') }}

),

final as (

    select * exclude (_source_file, _source_line),
        _source_file as source_file,
        _source_line as source_line
    from orders

)

select * from final
