{% test expression_is_true(model, expression, column_name=none, where=none) %}
{#- Rows where the expression is false fail the test. -#}
select *
from {{ model }}
where not ({{ expression }})
{% if where %} and ({{ where }}){% endif %}
{% endtest %}
