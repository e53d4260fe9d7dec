{% test primary_key(model, column_name) %}
{#- A key column: every row has a key and no two rows share one. dbt's `not_null` and
    `unique` in one pass over the table and one test node instead of two (design note 30:
    each dbt test costs 40-70 ms of dbt's own work plus two Dagster events, and a key's
    two tests read the same column). One failing row per key held more than once, and
    one for the rows without a key (`n_records` = how many). -#}
select {{ column_name }} as key_value, count(*) as n_records
from {{ model }}
group by {{ column_name }}
having {{ column_name }} is null or count(*) > 1
{% endtest %}
