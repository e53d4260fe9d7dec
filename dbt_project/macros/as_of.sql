{#- The analysis date literal, or null when not set (then int_analysis_date uses
    the latest order date). KUNDENORBIT_AS_OF wins over the project var. -#}
{% macro as_of_date_setting() -%}
    {%- set value = env_var('KUNDENORBIT_AS_OF', '') or var('as_of_date') -%}
    {%- if value -%} cast('{{ value }}' as date) {%- else -%} cast(null as date) {%- endif -%}
{%- endmacro %}
