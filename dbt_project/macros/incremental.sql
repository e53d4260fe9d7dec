{#- Incremental event-level models (design note 17; pipelines/incremental.py decides when
    a full refresh is needed instead). -#}

{#- The rows an incremental run reads: those of files loaded after the newest load time
    already in this table, and — for models cut at the analysis date — those dated after
    the newest date in this table (a later analysis date brings them into scope). Renders
    a WHERE clause in incremental runs, nothing otherwise. `since` (optional): the UTC
    timestamp whose local day `date` is; only rows at or after the newest date's UTC
    midnight are converted (a local day after D starts at D 10:00 UTC at the earliest,
    offsets being at most +14 h): converting all 6 M orders' times to find none took
    0.4–1.1 s of every incremental run on L (design note 33). -#}
{% macro incremental_batch(loaded_at='_loaded_at', this_loaded_at='_loaded_at',
                           date=none, this_date=none, since=none) -%}
    {%- if is_incremental() %}
    where {{ loaded_at }} > (select coalesce(max({{ this_loaded_at }}), '-infinity') from {{ this }})
        {%- if date is not none %}
        {%- set newest_date = '(select coalesce(max(' ~ this_date ~ "), '-infinity') from " ~ this ~ ')' %}
        {%- if since is not none %}
        or ({{ since }} >= cast({{ newest_date }} as timestamp) and {{ date }} > {{ newest_date }})
        {%- else %}
        or {{ date }} > {{ newest_date }}
        {%- endif %}
        {%- endif %}
    {%- endif %}
{%- endmacro %}

{#- Post-hook of models cut at the analysis date: when it was set back, rows after it go. -#}
{% macro drop_after_analysis_date(date_column) -%}
    delete from {{ this }}
    where {{ date_column }} > (select as_of_date from {{ ref('int_analysis_date') }})
{%- endmacro %}

{#- When this dbt invocation started (UTC): customer-level incremental models stamp the rows
    they (re)build with it as `built_at`, so that the models and tests after them can
    take just those rows (design notes 19, 20). Files loaded by the ingest of the same
    run carry an earlier `_loaded_at`, those of the next run a later one. -#}
{% macro build_time() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}

{#- Post-hook of the lifecycle history: snapshot dates no longer wanted (the previous
    analysis date when it was not a month end; dates after an analysis date set back). -#}
{% macro drop_unwanted_snapshots(date_column='snapshot_date') -%}
    delete from {{ this }}
    where {{ date_column }} not in
        (select snapshot_date from {{ ref('int_lifecycle_snapshot_dates') }})
{%- endmacro %}

{#- The month ends a model built on the lifecycle history must (re)compute: those whose
    history rows were rebuilt since this model's last build, and those it does not have
    yet. Renders a subquery of dates. -#}
{% macro rebuilt_snapshot_dates(history, this_date='month_end') -%}
    select distinct snapshot_date from {{ history }}
    where built_at > (select coalesce(max(built_at), '-infinity') from {{ this }})
        or snapshot_date not in (select {{ this_date }} from {{ this }})
{%- endmacro %}

{#- The CTEs `wanted` (the month ends to compute) and `history` (their lifecycle rows) of a
    model built on the lifecycle history (kpi_monthly, lifecycle_transitions); each row
    carries the customer's stage at the month end before (`previous_stage`), so no month
    end outside `wanted` is read. `history` is not materialised: a model reads it more
    than once, and DuckDB would otherwise copy it, all 15.5 M rows of L with every column,
    before any read takes its columns (design note 30). -#}
{% macro history_months_to_compute(history) -%}
{% if is_incremental() %}
wanted as (

    {{ rebuilt_snapshot_dates(history) }}

),

history as not materialized (

    select * from {{ history }}
    where snapshot_date in (select snapshot_date from wanted)

),
{% else %}
wanted as (

    select distinct snapshot_date from {{ history }}

),

history as not materialized (

    select * from {{ history }}

),
{% endif %}
{%- endmacro %}

{#- Post-hooks of the incremental people tables (design note 28). Whether anything has to
    go is read first from two counts: the anti join over 7.6 M identity records cost
    0.4 s on the 1 M-customer set even when it removed nothing. -#}
{% macro _delete_when(condition, delete_sql) -%}
    {%- if execute and run_query('select ' ~ condition).columns[0].values()[0] -%}
        {{ delete_sql }}
    {%- else -%}
        select 'nothing to drop'
    {%- endif -%}
{%- endmacro %}

{#- Incremental tables with one row per customer, made of records (identity records,
    orders) that carry `customer_id` and `built_at` and come back with a new `built_at`
    whenever they change (design notes 28, 29). `changed_customers` renders, in an
    incremental run, the CTEs `changed` (customers with a record built since this table's
    last build) and `counts_add_up` (everyone else still has exactly the records this
    table counted for them in `count_column`: they can only have lost some, as a record
    that joins a customer changes them); `of_changed_customers` the WHERE clause that
    keeps the records of those customers, or all when the counts do not add up.
    `records` names a CTE of all records with a customer. -#}
{% macro changed_customers(records, count_column) -%}
{%- if is_incremental() %}
changed as (

    select distinct customer_id from {{ records }}
    where built_at > (select coalesce(max(built_at), '-infinity') from {{ this }})

),

counts_add_up as (

    select
        (select coalesce(sum({{ count_column }}), 0) from {{ this }}
            where customer_id not in (select customer_id from changed))
        + (select count(*) from {{ records }}
            where customer_id in (select customer_id from changed))
        = (select count(*) from {{ records }}) as holds

),
{%- endif %}
{%- endmacro %}

{% macro of_changed_customers() -%}
    {%- if is_incremental() %}
    where customer_id in (select customer_id from changed)
        or not (select holds from counts_add_up)
    {%- endif %}
{%- endmacro %}

{#- Post-hook of those tables: customers whose every record went to someone else, to no
    one or past an analysis date set back since the last build have none left; only then
    do this table's record counts exceed the records. -#}
{% macro drop_customers_without_records(records, count_column) -%}
    {%- set keys -%}
        (select customer_id from {{ records }} where customer_id is not null)
    {%- endset -%}
    {{ _delete_when(
        '(select coalesce(sum(' ~ count_column ~ '), 0) from ' ~ this ~ ')'
        ~ ' > (select count(*) from ' ~ keys ~ ')',
        'delete from ' ~ this ~ ' where customer_id not in ' ~ keys) }}
{%- endmacro %}

{#- Tables with one row per resolved person: people no longer in int_customers_resolved go
    (only then are there more rows here than there). -#}
{% macro drop_people_no_longer_resolved() -%}
    {%- set people = ref('int_customers_resolved') -%}
    {{ _delete_when(
        '(select count(*) from ' ~ this ~ ') > (select count(*) from ' ~ people ~ ')',
        'delete from ' ~ this ~ ' where customer_id not in (select customer_id from '
        ~ people ~ ')') }}
{%- endmacro %}


{#- How to keep a CTE read more than once over an incremental model's input: in a full
    build not materialised, so each read takes only its columns (materialised, DuckDB
    first copied all 6 M orders or 6.4 M events with every column); in an incremental
    run materialised, so the few new rows are found once (unmaterialised, each read
    scanned staging for them again; design note 35). -#}
{% macro batch_cte() -%}
    {%- if is_incremental() -%} materialized {%- else -%} not materialized {%- endif -%}
{%- endmacro %}
