{#- Custom schemas are used as-is (staging, intermediate, marts, pii, config),
    not prefixed with the target schema: analysts query marts.dim_customers. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
