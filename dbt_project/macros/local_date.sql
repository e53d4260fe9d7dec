{#- The calendar day of a UTC timestamp in the business's time zone (var business_timezone):
    an order placed at 00:30 in Berlin on 5 January is a 5-January order, although it is
    23:30 on the 4th in UTC. -#}
{% macro local_date(column) -%}
    cast(timezone('{{ var("business_timezone") }}', {{ column }} at time zone 'UTC') as date)
{%- endmacro %}

{#- The latest local date of a UTC timestamp column, converting only the last 26 hours'
    rows: UTC offsets lie within −12 h … +14 h, so a row more than 26 h before the
    latest one has an earlier local time (converting all 6 M orders took 0.7 s on L). -#}
{% macro latest_local_date(relation, column) -%}
    (
        select max({{ local_date(column) }}) from {{ relation }}
        where {{ column }} >= (select max({{ column }}) from {{ relation }}) - interval 26 hour
    )
{%- endmacro %}
