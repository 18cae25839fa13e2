-- One row per step attempt (step_execution_key + attempt), with its flow (from its run, else its own flow_id), the flow's
-- latest name, its run's start, and the outcome of its whole step execution
-- (run_key + step_id: all attempts of one step in one run attempt).
-- The execution's outcome is aggregated on the execution key and joined back (no window sorts
-- the wide attempt rows).
-- Incremental (DuckDB): a build recomputes in full the step executions that got an attempt, or
-- whose run got a row, since the newest ingest time here (a late attempt changes which attempt is
-- final and the execution's outcome; a late run gives its steps their flow and run start); a
-- post-hook renames the flows renamed by a newer run in the other rows, as a full build would.
-- On Spark the model is a table rebuilt whole.
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    column_compression={
        'step_execution_key': 'uncompressed',
        'run_key': 'uncompressed',
        'run_id': 'uncompressed',
    },
    unique_key='step_execution_key',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    pre_hook=["{{ delete_purged_rows('step_execution_key', ref('stg_flowledger__step_runs'), ['step_runs', 'flow_runs']) }}"],
    post_hook=["{{ refresh_flow_names_or_ids(this) }}"],
) }}

{%- set watermark = built_through(
    'greatest(ingested_at, coalesce(run_ingested_at, ingested_at))', ['run_ingested_at']
) %}

{#- The step attempts are read again for the few columns that tell which executions changed,
    rather than from a CTE read twice, which DuckDB would buffer with every column; attempts and
    runs are matched on their natural key columns, not on the keys the staging views concatenate
    (each concatenation would be computed for every attempt or run). -#}
with

{% if is_incremental() %}
changed_executions as (

    select
        changed_attempts.source_system,
        changed_attempts.run_id,
        changed_attempts.run_attempt,
        changed_attempts.step_id

    from {{ ref('stg_flowledger__step_runs') }} as changed_attempts
    where {{ watermark }} is null
        or changed_attempts.ingested_at > {{ watermark }}
    union
    select
        attempts_of_changed_runs.source_system,
        attempts_of_changed_runs.run_id,
        attempts_of_changed_runs.run_attempt,
        attempts_of_changed_runs.step_id

    from {{ ref('stg_flowledger__step_runs') }} as attempts_of_changed_runs
    inner join {{ ref('stg_flowledger__flow_runs') }} as changed_runs
        on attempts_of_changed_runs.source_system = changed_runs.source_system
        and attempts_of_changed_runs.run_id = changed_runs.run_id
        and attempts_of_changed_runs.run_attempt = changed_runs.run_attempt
    where changed_runs.ingested_at > {{ watermark }}

),
{% endif %}

step_attempts as (

    select *
    from {{ ref('stg_flowledger__step_runs') }}
    {% if is_incremental() %}
    where {{ rows_where(
        ref('stg_flowledger__step_runs'),
        '(source_system, run_id, run_attempt, step_id) in (select * from changed_executions)',
        locator='row_locator'
    ) }}
    {% endif %}

),

runs as (

    select * from {{ ref('stg_flowledger__flow_runs') }}
    {% if is_incremental() %}
    -- the runs of those step executions
    where {{ rows_where(
        ref('stg_flowledger__flow_runs'),
        '(source_system, run_id, run_attempt) in (select source_system, run_id, run_attempt from changed_executions)',
        locator='row_locator'
    ) }}
    {% endif %}

),

flows as (

    select * from {{ ref('int_flows_summarized') }}

),

executions as (

    -- status and attempt are required by the step-run contract (max_by skips NULLs on DuckDB):
    -- the final attempt is the highest, its status the execution's outcome. Grouped and joined
    -- by the natural key: the concatenated step_execution_key would be computed for every
    -- attempt of this branch too (10M: 9.4 against 10.1 CPU s for the model's query)
    select
        source_system,
        run_id,
        run_attempt,
        step_id,
        max(attempt) as final_attempt,
        max_by(status, attempt) as execution_final_status,
        max(case when is_dead_lettered then 1 else 0 end) = 1 as is_execution_dead_lettered,
        max(ingested_at) as attempts_last_ingested_at

    {#- a full build reads the attempts again for these five columns: step_attempts, read twice,
        would be buffered with every column of every attempt -#}
    {% if is_incremental() %}
    from step_attempts
    {% else %}
    from {{ ref('stg_flowledger__step_runs') }}
    {% endif %}
    group by source_system, run_id, run_attempt, step_id

),

final as (

    select
        -- keyed by (step_execution_key, attempt): a concatenated attempt key, unique per row, was
        -- ~3 of the ~17 CPU s of writing the 6.2M attempts of the 10M bench, and nothing read it
        step_attempts.step_execution_key,
        step_attempts.run_key,
        step_attempts.source_system,
        step_attempts.run_id,
        step_attempts.run_attempt,
        step_attempts.step_id,
        step_attempts.attempt,
        coalesce(runs.flow_id, step_attempts.flow_id, '(unknown flow)') as flow_id,
        step_attempts.step_name,
        step_attempts.step_type,
        step_attempts.status,
        step_attempts.started_at,
        step_attempts.ended_at,
        step_attempts.error_type,
        step_attempts.is_dead_lettered,
        runs.started_at as run_started_at,
        step_attempts.ingested_at,
        runs.ingested_at as run_ingested_at,
        coalesce(flows.flow_name, runs.flow_id, step_attempts.flow_id, '(unknown flow)') as flow_name,
        step_attempts.status in ('failed', 'timed_out') as is_failed_attempt,
        step_attempts.attempt > 1 as is_retry_attempt,
        step_attempts.attempt = executions.final_attempt as is_final_attempt,
        executions.execution_final_status,
        executions.is_execution_dead_lettered,
        executions.execution_final_status in ('failed', 'timed_out') as is_execution_failed,
        -- when ingest last landed an attempt of this step execution or its run, on every attempt:
        -- the models after it find every attempt of the executions changed since their watermark
        -- by this column alone (a filter DuckDB pushes into the scan)
        greatest(
            executions.attempts_last_ingested_at,
            coalesce(runs.ingested_at, executions.attempts_last_ingested_at)
        ) as execution_last_ingested_at

    from step_attempts
    inner join executions
        on step_attempts.source_system = executions.source_system
        and step_attempts.run_id = executions.run_id
        and step_attempts.run_attempt = executions.run_attempt
        and step_attempts.step_id = executions.step_id
    left join runs
        on step_attempts.source_system = runs.source_system
        and step_attempts.run_id = runs.run_id
        and step_attempts.run_attempt = runs.run_attempt
    left join flows
        on coalesce(runs.flow_id, step_attempts.flow_id, '(unknown flow)') = flows.flow_id

)

select * from final
