{#- The latest version of each record across all loaded exports: the row from the file
    loaded last (then the later file name, then the later line). Used by staging models
    whose exports are full snapshots keyed by an id (HubSpot Record ID). -#}
{% macro latest_version(relation, key) -%}
    {{ first_per_key(relation, [key], '_loaded_at desc, _source_file desc, _source_line desc') }}
{%- endmacro %}


{#- The first row of each `keys` group of `relation` in `order_by` order: what
    `row_number() over (partition by keys order by …) = 1` keeps, NULL keys forming one
    group as there. Most records have a single version (on L, 101 of 6.16 M orders have
    two), so only the keys that occur more than once are ranked: the window sorted every
    row with every column (half of stg_shop__orders' 10 s on L; 5 s this way). The rows
    of a key that occurs once pass through. `relation` is read three times: a table, a
    CTE declared `as not materialized` when computing it three times is cheap, or one
    declared `as materialized` when it is not (stg_newsletter__activity: its regex and
    hash over 6.4 M rows). -#}
{% macro first_per_key(relation, keys, order_by) -%}
    {%- set same_key -%}
        {% for k in keys %}repeated.{{ k }} is not distinct from candidate.{{ k }}{% if not loop.last %} and {% endif %}{% endfor %}
    {%- endset -%}
    with repeated as materialized (

        select {{ keys | join(', ') }}
        from {{ relation }}
        group by {{ keys | join(', ') }}
        having count(*) > 1

    )

    select candidate.*
    from {{ relation }} as candidate
    where not exists (select 1 from repeated where {{ same_key }})

    union all

    select * exclude (version_rank)
    from (
        select
            candidate.*,
            row_number() over (
                partition by {{ keys | join(', ') }}
                order by {{ order_by }}
            ) as version_rank
        from {{ relation }} as candidate
        where exists (select 1 from repeated where {{ same_key }})
    ) as versions
    where version_rank = 1
{%- endmacro %}
