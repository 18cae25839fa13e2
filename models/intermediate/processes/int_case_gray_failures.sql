-- Gray failures: one row per flow run attempt that reported success and was followed, on the same
-- case, by a fix within the process's gray_failure_window: a field correction or an event of a
-- manual_fix_steps step. The fix is blamed on the latest successful run touching the case that
-- ended before it (runs that emitted the fix itself, same trace, excluded); a run blamed for
-- several fixes appears once, with its first fix.
with case_events as (

    select * from {{ ref('int_case_events_mapped') }}

),

field_changes as (

    select * from {{ ref('int_case_field_changes') }}

),

steps as (

    select * from {{ ref('int_process_steps_configured') }}

),

processes as (

    select * from {{ ref('int_processes_configured') }}

),

case_runs as (

    select * from {{ ref('int_case_flow_runs') }}

),

corrected_events as (

    select distinct case_key, event_id from field_changes where is_correction

),

fixes as (

    select
        case_events.case_key,
        case_events.process_name,
        case_events.event_id as fix_event_id,
        case_events.occurred_at as fixed_at,
        case_events.step_name as fix_step_name,
        case_events.trace_id as fix_trace_id,
        case
            when corrected_events.event_id is not null then 'field_correction'
            else 'manual_fix'
        end as fix_kind

    from case_events
    left join corrected_events
        on case_events.case_key = corrected_events.case_key
        and case_events.event_id = corrected_events.event_id
    left join steps
        on case_events.process_name = steps.process_name
        and case_events.step_name = steps.step_name
    where corrected_events.event_id is not null
        or coalesce(steps.is_manual_fix, false)

),

candidates as (

    select
        fixes.*,
        case_runs.run_key,
        case_runs.flow_id,
        case_runs.flow_version,
        coalesce(case_runs.ended_at, case_runs.started_at) as run_ended_at,
        row_number() over (
            partition by fixes.case_key, fixes.fix_event_id
            order by coalesce(case_runs.ended_at, case_runs.started_at) desc, case_runs.run_key desc
        ) as recency

    from fixes
    inner join processes
        on fixes.process_name = processes.process_name
    inner join case_runs
        on fixes.case_key = case_runs.case_key
    where case_runs.is_success
        and coalesce(case_runs.ended_at, case_runs.started_at) <= fixes.fixed_at
        and coalesce(case_runs.ended_at, case_runs.started_at)
            >= fixes.fixed_at - {{ interval_of('cast(processes.gray_failure_window_seconds * 1000000 as bigint)', 'microsecond') }}
        and (fixes.fix_trace_id is null or case_runs.trace_id is null or case_runs.trace_id <> fixes.fix_trace_id)

),

blamed as (

    select
        *,
        row_number() over (partition by run_key order by fixed_at, fix_event_id) as fix_rank

    from candidates
    where recency = 1

),

final as (

    select
        run_key,
        case_key,
        process_name,
        flow_id,
        flow_version,
        run_ended_at,
        fix_event_id,
        fix_kind,
        fix_step_name,
        fixed_at,
        {{ seconds_between('run_ended_at', 'fixed_at') }} as seconds_to_fix

    from blamed
    where fix_rank = 1

)

select * from final
