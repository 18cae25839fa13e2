-- One row per fix of a case (a field correction, or an event of a manual_fix_steps step) that
-- blames a run: the latest successful flow run attempt touching the case that ended within the
-- process's gray_failure_window before the fix (runs that emitted the fix itself, same trace,
-- excluded). int_case_gray_failures keeps each run's first fix.
-- Incremental (DuckDB): a build blames again the fixes of the cases with an event or a linked run
-- ingested since the newest last_ingested_at here, after its pre-hook deleted their rows
-- (macros/case_fix_blames.sql). On Spark the model is a table rebuilt whole.
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    pre_hook=["{{ delete_fix_blames_of_changed_cases() }}"],
) }}

with

{% if is_incremental() %}
changed_cases as (

    {{ cases_with_fix_inputs_changed() }}

),
{% endif %}

case_events as (

    select * from {{ ref('int_case_events_mapped') }}
    {% if is_incremental() %}
    where case_key in (select case_key from changed_cases)
    {% endif %}

),

field_changes as (

    select * from {{ ref('int_case_field_changes') }}
    {% if is_incremental() %}
    where case_key in (select case_key from changed_cases)
    {% endif %}

),

steps as (

    select * from {{ ref('int_process_steps_configured') }}

),

processes as (

    select * from {{ ref('int_processes_configured') }}

),

case_runs as (

    select * from {{ ref('int_case_flow_runs') }}
    {% if is_incremental() %}
    where case_key in (select case_key from changed_cases)
    {% endif %}

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
        -- the newest ingest time of the case's events and of the run (int_case_flow_runs)
        case_runs.last_ingested_at,
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

final as (

    select
        candidates.run_key,
        candidates.case_key,
        candidates.process_name,
        candidates.flow_id,
        candidates.flow_version,
        candidates.run_ended_at,
        candidates.fix_event_id,
        candidates.fix_kind,
        candidates.fix_step_name,
        candidates.fixed_at,
        candidates.last_ingested_at

    from candidates
    where candidates.recency = 1

)

select * from final
