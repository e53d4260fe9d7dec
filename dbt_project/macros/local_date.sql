{#- The calendar day of a UTC timestamp in the business's time zone (var business_timezone):
    an order placed at 00:30 in Berlin on 5 January is a 5-January order, although it is
    23:30 on the 4th in UTC. -#}
{% macro local_date(column) -%}
    cast(timezone('{{ var("business_timezone") }}', {{ column }} at time zone 'UTC') as date)
{%- endmacro %}
