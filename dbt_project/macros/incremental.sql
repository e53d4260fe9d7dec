{#- Incremental event-level models (design note 17; pipelines/incremental.py decides when
    a full refresh is needed instead). -#}

{#- The rows an incremental run reads: those of files loaded after the newest load time
    already in this table, and — for models cut at the analysis date — those dated after
    the newest date in this table (a later analysis date brings them into scope). Renders
    a WHERE clause in incremental runs, nothing otherwise. -#}
{% macro incremental_batch(loaded_at='_loaded_at', this_loaded_at='_loaded_at',
                           date=none, this_date=none) -%}
    {%- if is_incremental() %}
    where {{ loaded_at }} > (select coalesce(max({{ this_loaded_at }}), '-infinity') from {{ this }})
        {%- if date is not none %}
        or {{ date }} > (select coalesce(max({{ this_date }}), '-infinity') from {{ this }})
        {%- endif %}
    {%- endif %}
{%- endmacro %}

{#- Post-hook of models cut at the analysis date: when it was set back, rows after it go. -#}
{% macro drop_after_analysis_date(date_column) -%}
    delete from {{ this }}
    where {{ date_column }} > (select as_of_date from {{ ref('int_analysis_date') }})
{%- endmacro %}
