-- One row per process case: when it started and ended, its cycle time, rework and path (variant).
with case_events as (

    select * from {{ ref('int_case_events_mapped') }}

),

case_bounds as (

    select
        case_key,
        process_name,
        case_id,
        coalesce(
            min(case when is_start then occurred_at end),
            min(occurred_at)
        ) as started_at,
        count(*) as event_count,
        count(distinct step_name) as distinct_steps,
        max(event_sequence) as last_event_sequence,
        {{ dbt.listagg('step_name', "' > '", 'order by event_sequence') }} as variant

    from case_events
    group by case_key, process_name, case_id

),

case_ends as (

    select
        case_bounds.case_key,
        min(case_events.occurred_at) as ended_at

    from case_bounds
    inner join case_events
        on case_bounds.case_key = case_events.case_key
    where case_events.is_end
        and case_events.occurred_at >= case_bounds.started_at
    group by case_bounds.case_key

),

step_occurrences as (

    select
        case_key,
        step_name,
        count(*) as occurrences

    from case_events
    group by case_key, step_name

),

step_repeats as (

    select
        case_key,
        count(*) as repeated_steps

    from step_occurrences
    where occurrences > 1
    group by case_key

),

last_events as (

    select
        case_bounds.case_key,
        case_events.occurred_at as last_event_at,
        case_events.step_name as last_step_name,
        case_events.event_source as last_event_source

    from case_bounds
    inner join case_events
        on case_bounds.case_key = case_events.case_key
        and case_bounds.last_event_sequence = case_events.event_sequence

),

final as (

    select
        case_bounds.case_key,
        case_bounds.process_name,
        case_bounds.case_id,
        case_bounds.started_at,
        case_ends.ended_at,
        {{ seconds_between('case_bounds.started_at', 'case_ends.ended_at') }} as cycle_time_seconds,
        cast(case_bounds.event_count as bigint) as event_count,
        cast(case_bounds.distinct_steps as bigint) as distinct_steps,
        case_ends.ended_at is not null as is_complete,
        coalesce(step_repeats.repeated_steps, 0) > 0 as has_rework,
        cast(coalesce(step_repeats.repeated_steps, 0) as bigint) as repeated_steps,
        last_events.last_event_at,
        last_events.last_step_name,
        last_events.last_event_source,
        case_bounds.variant

    from case_bounds
    left join case_ends
        on case_bounds.case_key = case_ends.case_key
    left join step_repeats
        on case_bounds.case_key = step_repeats.case_key
    inner join last_events
        on case_bounds.case_key = last_events.case_key

)

select * from final
