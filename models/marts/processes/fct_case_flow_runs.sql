-- One row per case and flow run attempt that touched it, with the run's steps (for the case
-- timeline): linked by business_key or by the trace of one of the case's events.
-- Incremental (DuckDB): a build recomputes in full the cases that got an event, or one of whose
-- runs got a row (the run or a step), since the newest last_ingested_at here, and the cases of
-- runs whose gray-failure flag changed (a fix in another case can blame a run).
-- After `flowledger purge`, the runs purged since keep the steps the last build gave them.
-- The steps' JSON is stored with zstd: smaller and faster to write than DuckDB's own choice
-- (macros/column_compression.sql).
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    unique_key='case_key',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    column_compression={'steps': 'zstd'},
    pre_hook="{{ delete_links_of_shared_traces() }}",
) }}

-- depends_on: {{ ref('int_flow_runs_enriched') }}
-- depends_on: {{ ref('int_traces_shared') }}
{%- set built_before = built_before_purge(['flow_runs', 'step_runs']) %}

with all_case_runs as (

    select * from {{ ref('int_case_flow_runs') }}

),

gray_failures as (

    select * from {{ ref('int_case_gray_failures') }}

),

case_events as (

    select case_key, ingested_at from {{ ref('int_case_events_mapped') }}

),

{% if is_incremental() %}
affected_cases as (

    {{ cases_changed('case_events', 'last_ingested_at') }}
    union
    -- read apart from all_case_runs: a CTE read twice would be buffered with every column
    select changed_case_runs.case_key
    from {{ ref('int_case_flow_runs') }} as changed_case_runs
    where changed_case_runs.last_ingested_at > {{ built_through('last_ingested_at', ['last_ingested_at']) }}
        or {{ built_through('last_ingested_at', ['last_ingested_at']) }} is null
    union
    select built.case_key
    from {{ this }} as built
    left join gray_failures
        on built.run_key = gray_failures.run_key
        and built.process_name = gray_failures.process_name
    where built.is_gray_failure <> (gray_failures.run_key is not null)

),
{% endif %}

case_runs as (

    select * from all_case_runs
    {% if is_incremental() %}
    where case_key in (select case_key from affected_cases)
    {% endif %}

),

steps as (

    -- the step attempts with their run_key stored (int_step_attempts_enriched holds every
    -- attempt of the staging view, which would concatenate the key for each one)
    select run_key, step_id, attempt, step_name, status, started_at
    from {{ ref('int_step_attempts_enriched') }}
    {% if is_incremental() %}
    -- a full build links nearly every run: its steps are aggregated without the semi-join
    where {{ rows_where(ref('int_step_attempts_enriched'), 'run_key in (select run_key from case_runs)') }}
    {% endif %}

),

run_steps as (

    select
        run_key,
        {{ json_array_agg_ordered([
            ('step', 'step_name'), ('attempt', 'attempt'), ('status', 'status'),
            ('started_at', 'started_at', 'timestamp')
        ], ['started_at', 'step_id', 'attempt']) }} as steps

    from steps
    group by run_key

),

{% if built_before is not none %}
purged_run_steps as (

    -- the steps of runs purged since (started before the cut-off, no longer enriched)
    select kept.run_key, any_value(kept.steps) as steps
    from {{ built_before }} as kept
    where kept.started_at < {{ retention_horizon(['flow_runs', 'step_runs']) }}
        and kept.run_key in (select run_key from case_runs)
        and not exists (
            select 1 from {{ ref('int_flow_runs_enriched') }} as retained
            where retained.run_key = kept.run_key
        )
    group by kept.run_key

),
{% endif %}

final as (

    select
        case_runs.case_key,
        case_runs.process_name,
        case_runs.run_key,
        case_runs.linked_by,
        case_runs.flow_id,
        case_runs.flow_name,
        case_runs.flow_version,
        case_runs.status,
        case_runs.started_at,
        case_runs.ended_at,
        gray_failures.run_key is not null as is_gray_failure,
        {% if built_before is not none -%}
        case
            when purged_run_steps.run_key is not null then purged_run_steps.steps
            else cast(run_steps.steps as string)
        end as steps,
        {%- else -%}
        cast(run_steps.steps as string) as steps,
        {%- endif %}
        -- the newest ingest time of the rows the row was computed from: the run's, the case's
        case_runs.last_ingested_at

    from case_runs
    left join gray_failures
        on case_runs.run_key = gray_failures.run_key
        and case_runs.process_name = gray_failures.process_name
    left join run_steps
        on case_runs.run_key = run_steps.run_key
    {% if built_before is not none %}
    left join purged_run_steps
        on case_runs.run_key = purged_run_steps.run_key
    {% endif %}

)

select * from final
