-- One row per flow run attempt with its outcome flags, durations, step roll-up and the
-- idempotency checks (duplicate delivery, idempotency collision) against the other runs of
-- the same flow.
-- The step roll-up is counted from the staged step attempts, not from the step models: the runs
-- then build beside them instead of after them, which had put the step models at the head of the
-- full build's longest chain (runs -> fct_flow_runs -> case runs -> case timeline).
-- Incremental (DuckDB): a build recomputes the run attempts that got a row (the run or one of its
-- step executions) since the newest last_ingested_at here, and every run sharing their flow and
-- idempotency key (a late first delivery turns a later run into a duplicate); the idempotency
-- windows only see those flows and keys. On Spark the model is a table rebuilt whole.
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    column_compression={
        'run_key': 'uncompressed',
        'run_id': 'uncompressed',
        'run_identity': 'uncompressed',
        'idempotency_key': 'uncompressed',
        'input_digest': 'uncompressed',
        'trace_id': 'uncompressed',
    },
    unique_key='run_key',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    pre_hook=["{{ delete_purged_rows('run_key', ref('stg_flowledger__flow_runs'), ['flow_runs', 'step_runs']) }}"],
) }}

{#- The runs and step attempts are read for each question (which runs changed, which runs
    share their flow and idempotency key, the rows of those runs) rather than from CTEs read
    twice, which DuckDB would buffer with every column of every run; runs are matched on their
    natural key columns, not on the key the staging view concatenates for every run, and the
    changed ones are found by the watermark alone (a literal DuckDB pushes into the scans). -#}
{%- set watermark = built_through('last_ingested_at', ['last_ingested_at']) %}

with

{% if is_incremental() %}
changed_runs as (

    -- runs landed since the watermark, and runs with a step attempt landed since (their step
    -- executions changed)
    select changed.source_system, changed.run_id, changed.run_attempt, changed.flow_id, changed.idempotency_key
    from {{ ref('stg_flowledger__flow_runs') }} as changed
    where {{ watermark }} is null
        or changed.ingested_at > {{ watermark }}
    union
    select
        with_changed_steps.source_system,
        with_changed_steps.run_id,
        with_changed_steps.run_attempt,
        with_changed_steps.flow_id,
        with_changed_steps.idempotency_key

    from {{ ref('stg_flowledger__flow_runs') }} as with_changed_steps
    where (with_changed_steps.source_system, with_changed_steps.run_id, with_changed_steps.run_attempt) in (
        select changed_steps.source_system, changed_steps.run_id, changed_steps.run_attempt
        from {{ ref('stg_flowledger__step_runs') }} as changed_steps
        where changed_steps.ingested_at > {{ watermark }}
    )

),

affected_runs as (

    select source_system, run_id, run_attempt from changed_runs
    union
    select sharing_a_key.source_system, sharing_a_key.run_id, sharing_a_key.run_attempt
    from {{ ref('stg_flowledger__flow_runs') }} as sharing_a_key
    inner join changed_runs
        on sharing_a_key.flow_id = changed_runs.flow_id
        and sharing_a_key.idempotency_key = changed_runs.idempotency_key

),
{% endif %}

runs as (

    select
        *,
        {{ dbt.concat(['source_system', "':'", 'run_id']) }} as run_identity

    from {{ ref('stg_flowledger__flow_runs') }}
    {% if is_incremental() %}
    where {{ rows_where(
        ref('stg_flowledger__flow_runs'),
        '(source_system, run_id, run_attempt) in (select * from affected_runs)',
        locator='row_locator'
    ) }}
    {% endif %}

),

step_attempts as (

    -- the step attempts of those runs (an execution is one step_id of a run attempt; attempt
    -- and status are required by the step-run contract)
    select source_system, run_id, run_attempt, step_id, attempt, status, is_dead_lettered, ingested_at
    from {{ ref('stg_flowledger__step_runs') }}
    {% if is_incremental() %}
    where {{ rows_where(
        ref('stg_flowledger__step_runs'),
        '(source_system, run_id, run_attempt) in (select * from affected_runs)',
        locator='row_locator'
    ) }}
    {% endif %}

),

steps_per_run as (

    select
        source_system,
        run_id,
        run_attempt,
        count(distinct step_id) as step_executions,
        count(*) as step_attempts,
        sum(case when status in ('failed', 'timed_out') then 1 else 0 end) as step_failures,
        sum(case when attempt > 1 then 1 else 0 end) as step_retries,
        sum(case when is_dead_lettered then 1 else 0 end) as dead_letters,
        max(ingested_at) as steps_last_ingested_at

    from step_attempts
    group by source_system, run_id, run_attempt

),

first_deliveries as (

    select
        run_key,
        first_value(run_identity) over (
            partition by flow_id, idempotency_key, input_digest
            order by started_at, run_key
            rows between unbounded preceding and unbounded following
        ) as first_run_with_same_payload,
        first_value(input_digest) over (
            partition by flow_id, idempotency_key
            order by started_at, run_key
            rows between unbounded preceding and unbounded following
        ) as first_input_digest_of_key

    from runs
    where idempotency_key is not null

),

final as (

    select
        runs.run_key,
        runs.source_system,
        runs.run_id,
        runs.run_attempt,
        runs.run_identity,
        runs.flow_id,
        runs.flow_name,
        runs.flow_version,
        runs.tenant,
        runs.trigger,
        runs.status,
        runs.raw_status,
        runs.status = 'success' as is_success,
        runs.status in ('failed', 'timed_out') as is_failed,
        runs.queued_at,
        runs.started_at,
        runs.ended_at,
        {{ seconds_between('runs.started_at', 'runs.ended_at') }} * 1000.0 as duration_ms,
        {{ seconds_between('coalesce(runs.queued_at, runs.started_at)', 'runs.ended_at') }} * 1000.0
            as end_to_end_ms,
        runs.error_type,
        runs.error_message,
        runs.idempotency_key,
        runs.input_digest,
        runs.business_key,
        runs.trace_id,
        cast(coalesce(steps_per_run.step_executions, 0) as bigint) as step_executions,
        cast(coalesce(steps_per_run.step_attempts, 0) as bigint) as step_attempts,
        cast(coalesce(steps_per_run.step_failures, 0) as bigint) as step_failures,
        cast(coalesce(steps_per_run.step_retries, 0) as bigint) as step_retries,
        cast(coalesce(steps_per_run.dead_letters, 0) as bigint) as dead_letters,
        coalesce(first_deliveries.first_run_with_same_payload <> runs.run_identity, false)
            as is_duplicate_delivery,
        coalesce(
            runs.input_digest is not null
            and first_deliveries.first_input_digest_of_key is not null
            and first_deliveries.first_input_digest_of_key <> runs.input_digest,
            false
        ) as is_idempotency_collision,
        -- When ingest last landed a row of this run attempt or of one of its steps: incremental
        -- marts recompute what changed after their newest last_ingested_at.
        greatest(
            coalesce(runs.ingested_at, steps_per_run.steps_last_ingested_at),
            coalesce(steps_per_run.steps_last_ingested_at, runs.ingested_at)
        ) as last_ingested_at

    from runs
    left join steps_per_run
        on runs.source_system = steps_per_run.source_system
        and runs.run_id = steps_per_run.run_id
        and runs.run_attempt = steps_per_run.run_attempt
    left join first_deliveries
        on runs.run_key = first_deliveries.run_key

)

select * from final
