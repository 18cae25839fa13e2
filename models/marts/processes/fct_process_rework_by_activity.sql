-- One row per process and step (activity): the cases in which it occurs, the cases in which it
-- occurs more than once (PM4Py's get_rework_cases_per_activity), their share, and the events.
with per_case as (

    select * from {{ ref('int_case_step_occurrences') }}

),

final as (

    select
        process_name,
        step_name,
        cast(count(*) as bigint) as cases_with_step,
        cast(sum(case when occurrences > 1 then 1 else 0 end) as bigint) as rework_cases,
        {{ safe_ratio('sum(case when occurrences > 1 then 1 else 0 end)', 'count(*)') }}
            as rework_share_of_cases_with_step,
        cast(sum(occurrences) as bigint) as events

    from per_case
    group by process_name, step_name

)

select * from final
