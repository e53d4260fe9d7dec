-- One row per survey response; the same response in two exports counts once.
with

source as (

    select * from {{ source('crm', 'feedback') }}

),

renamed as (

    select
        {{ normalise_email('email') }} as email_normalised,
        submitted_at,
        nps as nps_score,
        case
            when nps >= {{ var('nps_promoter_min') }} then 'promoter'
            when nps <= {{ var('nps_detractor_max') }} then 'detractor'
            else 'passive'
        end as nps_category,
        nullif(trim(comment), '') as comment,
        survey,
        _source_file,
        _source_line,
        _loaded_at
    from source
    where nps between 0 and 10

),

deduplicated as (

    select
        *,
        left(md5(
            coalesce(email_normalised, '') || '|'
            || coalesce(cast(submitted_at as varchar), '') || '|'
            || cast(nps_score as varchar) || '|' || coalesce(comment, '')
        ), 20) as feedback_id,
        row_number() over (
            partition by email_normalised, submitted_at, nps_score, comment
            order by _loaded_at desc, _source_file desc, _source_line
        ) as version_rank
    from renamed

)

select * exclude (version_rank)
from deduplicated
where version_rank = 1
