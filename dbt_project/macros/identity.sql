{#- Identity-resolution building blocks (DESIGN.md §4). -#}

{#- trim, lower-case, drop non-breaking spaces: the only normalisation applied. -#}
{% macro normalise_email(column) -%}
    nullif(lower(trim(replace({{ column }}, chr(160), ' '))), '')
{%- endmacro %}

{#- true when a normalised e-mail may identify a person. -#}
{% macro is_matchable_email(column) -%}
    (
        {{ column }} is not null
        and regexp_full_match({{ column }}, '[^@\s]+@[^@\s]+\.[a-z]{2,}')
        and split_part({{ column }}, '@', 1) not in (
            {%- for x in var('blocked_email_local_parts') %}'{{ x }}'{% if not loop.last %}, {% endif %}{% endfor -%}
        )
        and split_part({{ column }}, '@', 2) not in (
            {%- for x in var('blocked_email_domains') %}'{{ x }}'{% if not loop.last %}, {% endif %}{% endfor -%}
        )
        {%- if var('block_role_addresses') %}
        and split_part({{ column }}, '@', 1) not in (
            {%- for x in var('role_email_local_parts') %}'{{ x }}'{% if not loop.last %}, {% endif %}{% endfor -%}
        )
        {%- endif %}
    )
{%- endmacro %}

{#- Stable surrogate key: salted hash, never the e-mail itself. -#}
{% macro customer_key(expression) -%}
    'c_' || left({{ hash_sha256("'" ~ env_var('KUNDENORBIT_ID_SALT', var('id_salt')) ~ "' || " ~ expression) }}, 16)
{%- endmacro %}

{% macro hash_sha256(expression) -%}
    {{ return(adapter.dispatch('hash_sha256', 'kundenorbit')(expression)) }}
{%- endmacro %}

{% macro default__hash_sha256(expression) -%}
    sha2({{ expression }}, 256)
{%- endmacro %}

{% macro duckdb__hash_sha256(expression) -%}
    sha256({{ expression }})
{%- endmacro %}

{#- first id of a HubSpot association list ("123;456" or "123, 456"). -#}
{% macro first_id(column) -%}
    nullif(trim(split_part(replace({{ column }}, ',', ';'), ';', 1)), '')
{%- endmacro %}

{#- HubSpot / free-text label → snake_case key ("Closed Won" → closed_won). -#}
{% macro label_key(column) -%}
    nullif(trim(both '_' from regexp_replace(lower(trim({{ column }})), '[^a-z0-9äöüß]+', '_', 'g')), '')
{%- endmacro %}

{#- email_normalised → customer_id for each distinct matchable address of `relation`,
    checked and keyed once: hashing the address of every order or event took most of a
    model's time (6.3 M events, 0.55 M addresses on the bench's L data). -#}
{% macro customer_keys_by_address(relation, column='email_normalised') -%}
    select
        {{ column }} as email_normalised,
        {{ customer_key(column) }} as customer_id
    from (
        -- the window is a fence: else DuckDB moves the checks below the distinct,
        -- onto every row (6.4 M events instead of 0.48 M addresses)
        select {{ column }}, count(*) over () as address_count
        from (select distinct {{ column }} from {{ relation }}) as a
    ) as addresses
    where {{ is_matchable_email(column) }}
{%- endmacro %}

{#- The identity record id of an audience member: its e-mail within the audience (LEIDs
    repeat across audiences). -#}
{% macro member_record_id(column) -%}
    'm_' || left(md5({{ column }}), 16)
{%- endmacro %}
