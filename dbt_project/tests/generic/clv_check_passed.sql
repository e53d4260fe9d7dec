{% test clv_check_passed(model, check_name) %}
-- One verdict of pipelines/models/clv.py `checks()` (model int_clv_checks): a row when it
-- is negative or missing, with its reason. Configured as a warning: without a fit the CLV
-- columns are null with a reason and the rest of the pipeline goes on.
select
    '{{ check_name }}' as check_name,
    coalesce(any_value(description), 'no verdict for this check') as description
from {{ model }}
where check_name = '{{ check_name }}'
having count(*) = 0 or bool_or(not passed)
{% endtest %}
