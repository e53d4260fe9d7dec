{#- The latest version of each record across all loaded exports: the row from the file
    loaded last (then the later file name, then the later line). Used by staging models
    whose exports are full snapshots keyed by an id (HubSpot Record ID). -#}
{% macro latest_version(relation, key) -%}
    select * exclude (version_rank)
    from (
        select
            *,
            row_number() over (
                partition by {{ key }}
                order by _loaded_at desc, _source_file desc, _source_line desc
            ) as version_rank
        from {{ relation }}
    ) as versions
    where version_rank = 1
{%- endmacro %}
