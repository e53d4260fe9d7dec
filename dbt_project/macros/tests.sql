{#- Which rows a generic test reads (dbt's `get_where_subquery`, overridden; design note 20).

    An incremental model (design notes 17, 19) is tested on the rows its latest build
    wrote: those with the newest `built_at`. On a full refresh that is every row; on an
    incremental run only the batch, instead of 10-15 M rows per test on the 1 M-customer
    data set. That loses nothing:
    - row-level tests (not_null, accepted_values, expression_is_true, relationships from
      the child side) passed for the older rows when those were built, and a run never
      changes an older row without rewriting it (delete + insert), which stamps it anew;
    - uniqueness (`unique`, `primary_key`): every key tested on these models determines
      the model's `unique_key` (`order_line_id` = `<order_id>-<n>`, `customer_snapshot_id`
      = `<customer_id>|<snapshot_date>`, `transition_id` = `<month_end>|<from>|<to>`, the
      others are the unique_key itself). delete + insert first removes all rows of the
      keys in the batch, so two rows with the same tested key are either both old (tested
      before) or both in the batch.
    Models without `built_at` and every non-incremental model are tested whole, and a
    test's own `where` config still applies. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- set attached = model.get('attached_node') if model is mapping else none -%}
    {%- set node = graph.nodes.get(attached) if attached else none -%}
    {%- if node and node.config.materialized == 'incremental' and 'built_at' in node.columns -%}
        {%- set latest -%}
            built_at = (select max(built_at) from {{ relation }})
        {%- endset -%}
        {%- set where = latest ~ (' and (' ~ where ~ ')' if where else '') -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
