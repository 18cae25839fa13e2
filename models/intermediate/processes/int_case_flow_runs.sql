-- One row per case and flow run attempt that touched it: the run's business_key is the case id
-- (restricted to the process's configured `flows` when given), or the run's trace id is the trace
-- of one of the case's events (W3C traceparent). Shadow runs (execution_mode shadow) did not act
-- on the case and are left out (fct_parallel_run_comparison compares them).
with case_events as (

    select * from {{ ref('int_case_events_mapped') }}

),

processes as (

    select * from {{ ref('int_processes_configured') }}

),

runs as (

    select * from {{ ref('int_flow_runs_enriched') }}
    where run_key not in (
        select run_key from {{ ref('stg_flowledger__flow_runs') }} where execution_mode = 'shadow'
    )

),

cases as (

    select distinct case_key, process_name, case_id from case_events

),

by_business_key as (

    select
        cases.case_key,
        cases.process_name,
        runs.run_key,
        'business_key' as linked_by

    from cases
    inner join processes
        on cases.process_name = processes.process_name
    inner join runs
        on cases.case_id = runs.business_key
    where processes.flows = ''
        or {{ csv_list_contains('processes.flows', 'runs.flow_id') }}

),

by_trace as (

    select distinct
        case_events.case_key,
        case_events.process_name,
        runs.run_key,
        'trace_id' as linked_by

    from case_events
    inner join runs
        on case_events.trace_id = runs.trace_id
    where case_events.trace_id is not null

),

linked as (

    select
        case_key,
        process_name,
        run_key,
        min(linked_by) as linked_by

    from (
        select * from by_business_key
        union all
        select * from by_trace
    ) as both_links
    group by case_key, process_name, run_key

),

final as (

    select
        linked.case_key,
        linked.process_name,
        linked.linked_by,
        runs.run_key,
        runs.flow_id,
        runs.flow_name,
        runs.flow_version,
        runs.status,
        runs.is_success,
        runs.is_failed,
        runs.started_at,
        runs.ended_at,
        runs.trace_id

    from linked
    inner join runs
        on linked.run_key = runs.run_key

)

select * from final
