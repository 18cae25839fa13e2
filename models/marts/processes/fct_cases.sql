-- One row per process case: when it started and ended (by the process's configured start and end
-- rules), its cycle time and first-to-last duration, the three kinds of rework, SLA, stuck state,
-- segments and path (variant).
-- Incremental (DuckDB): a build recomputes in full the cases that got an event since the newest
-- last_ingested_at here (macros/cases_changed.sql) and the cases whose count of gray failures
-- changed (a late flow run can blame a run of an old case); the post-hook then moves every
-- case's as-of dependent columns (idle time, stuck, SLA still open) to the new as-of time.
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    unique_key='case_key',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    post_hook=["{{ refresh_case_clock(this) }}"],
) }}

with all_gray_failures as (

    select * from {{ ref('int_case_gray_failures') }}

),

{% if is_incremental() %}
gray_failures_changed as (

    select coalesce(counted.case_key, built.case_key) as case_key
    from (
        select case_key, count(*) as gray_failures from all_gray_failures group by case_key
    ) as counted
    full outer join (
        select case_key, gray_failures from {{ this }} where gray_failures > 0
    ) as built
        on counted.case_key = built.case_key
    where counted.case_key is null
        or built.case_key is null
        or counted.gray_failures <> built.gray_failures

),

affected_cases as (

    {{ cases_changed(ref('int_case_events_mapped'), 'last_ingested_at') }}
    union
    select case_key from gray_failures_changed

),
{% endif %}

case_events as (

    select * from {{ ref('int_case_events_mapped') }}
    {% if is_incremental() %}
    where {{ rows_where(ref('int_case_events_mapped'), 'case_key in (select case_key from affected_cases)') }}
    {% endif %}

),

processes as (

    select * from {{ ref('int_processes_configured') }}

),

field_changes as (

    select * from {{ ref('int_case_field_changes') }}
    {% if is_incremental() %}
    where {{ rows_where(ref('int_case_field_changes'), 'case_key in (select case_key from affected_cases)') }}
    {% endif %}

),

gray_failures as (

    select * from all_gray_failures
    {% if is_incremental() %}
    where case_key in (select case_key from affected_cases)
    {% endif %}

),

segments as (

    select * from {{ ref('int_case_segments') }}
    {% if is_incremental() %}
    where {{ rows_where(ref('int_case_segments'), 'case_key in (select case_key from affected_cases)') }}
    {% endif %}

),

data_as_of as (

    select max(occurred_at) as as_of
    from {{ ref('stg_flowledger__business_events') }}
    where {{ credible_time('occurred_at') }}

),

event_bounds as (

    select
        case_key,
        process_name,
        case_id,
        min(occurred_at) as first_event_at,
        max(occurred_at) as last_occurred_at,
        min(case when is_start then occurred_at end) as first_start_at,
        count(*) as event_count,
        max(event_sequence) as last_event_sequence,
        max(ingested_at) as last_ingested_at,
        -- a '>' in a step name is doubled, so the separator is the only lone '>': the steps
        -- "A > B", "C" and "A", "B > C" are two paths ("A >> B > C", "A > B >> C")
        {{ string_agg_ordered("replace(step_name, '>', '>>')", "' > '", ['event_sequence']) }}
            as variant

    from case_events
    group by case_key, process_name, case_id

),

case_bounds as (

    select
        event_bounds.case_key,
        event_bounds.process_name,
        event_bounds.case_id,
        event_bounds.first_event_at,
        event_bounds.last_occurred_at,
        case
            when processes.start_rule = 'first' then event_bounds.first_event_at
            else coalesce(event_bounds.first_start_at, event_bounds.first_event_at)
        end as started_at,
        processes.end_rule,
        processes.cycle_measure,
        processes.sla_from_step,
        processes.sla_to_step,
        processes.sla_within_seconds,
        processes.timeout_seconds,
        event_bounds.event_count,
        event_bounds.last_event_sequence,
        event_bounds.last_ingested_at,
        event_bounds.variant

    from event_bounds
    inner join processes
        on event_bounds.process_name = processes.process_name

),

-- end rule 'last': the last event (never before the start, which is one of the case's events);
-- else the first end event at or after the start
case_ends as (

    select
        case_key,
        last_occurred_at as ended_at

    from case_bounds
    where end_rule = 'last'

    union all

    select
        case_bounds.case_key,
        min(case_events.occurred_at) as ended_at

    from case_bounds
    inner join case_events
        on case_bounds.case_key = case_events.case_key
    where coalesce(case_bounds.end_rule, '') <> 'last'
        and case_events.is_end
        and case_events.occurred_at >= case_bounds.started_at
    group by case_bounds.case_key

),

sla_bounds as (

    select
        case_bounds.case_key,
        min(case when case_events.step_name = case_bounds.sla_from_step then case_events.occurred_at end)
            as sla_started_at

    from case_bounds
    inner join case_events
        on case_bounds.case_key = case_events.case_key
    where case_bounds.sla_from_step is not null
    group by case_bounds.case_key

),

sla_ends as (

    select
        sla_bounds.case_key,
        min(case_events.occurred_at) as sla_ended_at

    from sla_bounds
    inner join case_events
        on sla_bounds.case_key = case_events.case_key
    inner join case_bounds
        on sla_bounds.case_key = case_bounds.case_key
    where case_events.step_name = case_bounds.sla_to_step
        and case_events.occurred_at >= sla_bounds.sla_started_at
    group by sla_bounds.case_key

),

step_occurrences as (

    select
        case_key,
        step_name,
        count(*) as occurrences

    from case_events
    group by case_key, step_name

),

step_counts as (

    select
        case_key,
        count(*) as distinct_steps,
        sum(case when occurrences > 1 then 1 else 0 end) as repeated_steps

    from step_occurrences
    group by case_key

),

corrections as (

    select
        case_key,
        count(*) as field_corrections

    from field_changes
    where is_correction
    group by case_key

),

case_gray_failures as (

    select
        case_key,
        count(*) as gray_failures

    from gray_failures
    group by case_key

),

case_segments as (

    select
        case_key,
        {{ json_object_agg_ordered('segment_name', 'segment_value') }}
            as segment_values

    from segments
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

joined as (

    select
        case_bounds.*,
        case_ends.ended_at,
        sla_bounds.sla_started_at,
        sla_ends.sla_ended_at,
        step_counts.distinct_steps,
        step_counts.repeated_steps,
        coalesce(corrections.field_corrections, 0) as field_corrections,
        coalesce(case_gray_failures.gray_failures, 0) as gray_failures,
        case_segments.segment_values,
        last_events.last_event_at,
        last_events.last_step_name,
        last_events.last_event_source,
        data_as_of.as_of

    from case_bounds
    cross join data_as_of
    left join case_ends
        on case_bounds.case_key = case_ends.case_key
    left join sla_bounds
        on case_bounds.case_key = sla_bounds.case_key
    left join sla_ends
        on case_bounds.case_key = sla_ends.case_key
    inner join step_counts
        on case_bounds.case_key = step_counts.case_key
    left join corrections
        on case_bounds.case_key = corrections.case_key
    left join case_gray_failures
        on case_bounds.case_key = case_gray_failures.case_key
    left join case_segments
        on case_bounds.case_key = case_segments.case_key
    inner join last_events
        on case_bounds.case_key = last_events.case_key

),

{%- set clock = case_clock('as_of') %}

final as (

    select
        case_key,
        process_name,
        case_id,
        started_at,
        ended_at,
        {{ seconds_between('started_at', 'ended_at') }} as cycle_time_seconds,
        cast(event_count as bigint) as event_count,
        cast(distinct_steps as bigint) as distinct_steps,
        ended_at is not null as is_complete,
        repeated_steps > 0 as has_rework,
        cast(repeated_steps as bigint) as repeated_steps,
        last_event_at,
        last_step_name,
        last_event_source,
        variant,
        first_event_at,
        {{ seconds_between('first_event_at', 'last_event_at') }} as duration_seconds,
        cycle_measure,
        cast(field_corrections as bigint) as field_corrections,
        field_corrections > 0 as has_field_correction,
        cast(gray_failures as bigint) as gray_failures,
        gray_failures > 0 as has_gray_failure,
        repeated_steps = 0 and field_corrections = 0 and gray_failures = 0 as is_first_pass,
        sla_started_at,
        sla_ended_at,
        {{ seconds_between('sla_started_at', 'sla_ended_at') }} as sla_seconds,
        {{ clock['sla_met'] }} as sla_met,
        {{ clock['sla_decided_at'] }} as sla_decided_at,
        {{ clock['idle_seconds'] }} as idle_seconds,
        {{ clock['is_stuck'] }} as is_stuck,
        cast(segment_values as string) as segment_values,
        last_ingested_at

    from joined

)

select * from final
