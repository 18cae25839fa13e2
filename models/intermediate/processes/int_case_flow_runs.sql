-- One row per case and flow run attempt that touched it: the run's business_key is the case id
-- (restricted to the process's configured `flows` when given), or the run's trace id is the trace
-- of one of the case's events (W3C traceparent), unless more runs carry that trace than one
-- transaction makes (int_traces_shared: a hard-coded traceparent). Shadow runs (execution_mode shadow) did not act
-- on the case and are left out (fct_parallel_run_comparison compares them).
-- Incremental (DuckDB): a build relinks in full the cases that got an event, that a run with a
-- row (the run or a step) since the newest last_ingested_at here links to by business key or
-- trace, or that such a run was linked to. On Spark the model is a table rebuilt whole.
-- After `flowledger purge`, a case relinked (incrementally or in full) keeps its links to purged
-- runs as the last build made them: its run counts, failures and gray failures stay the same.
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    column_compression={'run_key': 'uncompressed', 'trace_id': 'uncompressed'},
    unique_key='case_key',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    pre_hook="{{ delete_links_of_shared_traces() }}",
) }}

{%- set watermark = built_through('last_ingested_at', ['last_ingested_at']) %}
{%- set built_before = built_before_purge(['flow_runs']) %}
{%- set shadow_runs -%}
    select run_key from {{ ref('stg_flowledger__flow_runs') }} where execution_mode = 'shadow'
{%- endset %}

{#- The case events and runs are read for each question (which cases changed, the events of those
    cases) rather than from CTEs read four times, which DuckDB would buffer whole. -#}
with

processes as (

    select * from {{ ref('int_processes_configured') }}

),

{% if is_incremental() %}
changed_runs as (

    select changed.run_key, changed.business_key, changed.trace_id
    from {{ ref('int_flow_runs_enriched') }} as changed
    where ({{ watermark }} is null or changed.last_ingested_at > {{ watermark }})
        and changed.run_key not in ({{ shadow_runs }})

),

affected_cases as (

    select changed_events.case_key
    from {{ ref('int_case_events_mapped') }} as changed_events
    where {{ watermark }} is null
        or changed_events.ingested_at > {{ watermark }}
    union
    select built.case_key
    from {{ this }} as built
    inner join changed_runs
        on built.run_key = changed_runs.run_key
    -- (semi joins: a key or trace many events and many changed runs share is read once, not
    -- once per pair)
    union
    select events_of_the_key.case_key
    from {{ ref('int_case_events_mapped') }} as events_of_the_key
    where events_of_the_key.case_id in (select business_key from changed_runs)
    union
    select events_of_the_trace.case_key
    from {{ ref('int_case_events_mapped') }} as events_of_the_trace
    where events_of_the_trace.trace_id in (select trace_id from changed_runs)

),
{% endif %}

case_events as (

    select * from {{ ref('int_case_events_mapped') }}
    {% if is_incremental() %}
    where {{ rows_where(ref('int_case_events_mapped'), 'case_key in (select case_key from affected_cases)') }}
    {% endif %}

),

runs as (

    select * from {{ ref('int_flow_runs_enriched') }}
    where run_key not in ({{ shadow_runs }})
    {% if is_incremental() %}
        -- only the runs that can link to the cases it rebuilds (runs is read three times, so
        -- DuckDB buffers it: all of them would be buffered on every build)
        and {{ rows_where(
            ref('int_flow_runs_enriched'),
            'business_key in (select case_id from case_events) or trace_id in (select trace_id from case_events)'
        ) }}
    {% endif %}

),

cases as (

    select
        case_key,
        process_name,
        case_id,
        max(ingested_at) as last_ingested_at

    from case_events
    group by case_key, process_name, case_id

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

case_traces as (

    -- each trace of a case once: a trace's runs then join each of its cases once, not once per
    -- event of the trace (and a run has one trace, so no link comes twice); a trace carried by
    -- more runs than a transaction makes (a hard-coded traceparent) links nothing
    select distinct case_key, process_name, trace_id
    from case_events
    where trace_id is not null
        and trace_id not in (select trace_id from {{ ref('int_traces_shared') }})

),

by_trace as (

    select
        case_traces.case_key,
        case_traces.process_name,
        runs.run_key,
        'trace_id' as linked_by

    from case_traces
    inner join runs
        on case_traces.trace_id = runs.trace_id

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
        runs.trace_id,
        -- the newest ingest time of the rows the row was computed from: the run's, the case's
        greatest(
            coalesce(runs.last_ingested_at, cases.last_ingested_at),
            coalesce(cases.last_ingested_at, runs.last_ingested_at)
        ) as last_ingested_at

    from linked
    inner join runs
        on linked.run_key = runs.run_key
    inner join cases
        on linked.case_key = cases.case_key

)

select * from final
{% if built_before is not none %}
union all
-- the links of the relinked cases to runs purged since (started before the cut-off, no longer
-- enriched), as the last build made them, while the current configuration still links them:
-- by business key when the process takes the run's flow, else by the trace of a case event
select
    kept.case_key,
    kept.process_name,
    case when kept_by_key.run_key is not null then 'business_key' else 'trace_id' end
        as linked_by,
    kept.run_key,
    kept.flow_id,
    kept.flow_name,
    kept.flow_version,
    kept.status,
    kept.is_success,
    kept.is_failed,
    kept.started_at,
    kept.ended_at,
    kept.trace_id,
    kept.last_ingested_at

from {{ built_before }} as kept
left join (
    select by_key.case_key, by_key.run_key
    from {{ built_before }} as by_key
    inner join processes
        on by_key.process_name = processes.process_name
    where by_key.linked_by = 'business_key'
        and (processes.flows = '' or {{ csv_list_contains('processes.flows', 'by_key.flow_id') }})
) as kept_by_key
    on kept.case_key = kept_by_key.case_key
    and kept.run_key = kept_by_key.run_key
where kept.case_key in (select case_key from cases)
    and kept.started_at < {{ retention_horizon(['flow_runs']) }}
    and not exists (
        select 1 from {{ ref('int_flow_runs_enriched') }} as retained
        where retained.run_key = kept.run_key
    )
    and (
        kept_by_key.run_key is not null
        or exists (
            select 1 from {{ ref('int_case_events_mapped') }} as events_of_the_case
            where events_of_the_case.case_key = kept.case_key
                and events_of_the_case.trace_id = kept.trace_id
        )
    )
{% endif %}
