{% test not_an_email_address(model, column_name) %}
{#- Analysts' tables must not carry raw e-mail addresses (DESIGN.md §4). -#}
select {{ column_name }}
from {{ model }}
where regexp_matches(cast({{ column_name }} as varchar), '[^@\s]+@[^@\s]+\.[a-zA-Z]{2,}')
{% endtest %}
