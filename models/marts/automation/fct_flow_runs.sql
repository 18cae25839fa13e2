-- One row per flow run attempt: outcome, durations, step roll-up and idempotency flags.
-- Incremental (DuckDB): a build recomputes the run attempts that got a row (the run or one of its
-- steps) since the newest last_ingested_at here, and every run sharing their flow and
-- idempotency key (a late first delivery changes the others' duplicate flags). On Spark the model
-- is a table rebuilt whole (incremental merges need a Delta or Iceberg table format there).
-- Columns of (nearly) unique values are stored as macros/column_compression.sql says: zstd for
-- the keys (0.5-0.7 of the write time of DuckDB's own choice), the digest (random hex, which
-- zstd cannot shrink) uncompressed.
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    column_compression={
        'run_key': 'zstd',
        'run_id': 'zstd',
        'idempotency_key': 'zstd',
        'input_digest': 'uncompressed',
    },
    unique_key='run_key',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
) }}

{#- The runs are read for each question (which changed, which share their flow and idempotency
    key, the rows of those) rather than from one CTE read three times, which DuckDB would buffer
    with every column of every run. -#}
{%- set watermark = built_through('last_ingested_at', ['last_ingested_at']) %}

with

{% if is_incremental() %}
changed as (

    select changed_runs.run_key, changed_runs.flow_id, changed_runs.idempotency_key, changed_runs.started_at
    from {{ ref('int_flow_runs_enriched') }} as changed_runs
    where {{ watermark }} is null
        or changed_runs.last_ingested_at > {{ watermark }}

),

affected as (

    select run_key, started_at from changed
    union
    select sharing_a_key.run_key, sharing_a_key.started_at
    from {{ ref('int_flow_runs_enriched') }} as sharing_a_key
    inner join changed
        on sharing_a_key.flow_id = changed.flow_id
        and sharing_a_key.idempotency_key = changed.idempotency_key

),
{% endif %}

runs as (

    select * from {{ ref('int_flow_runs_enriched') }}
    {% if is_incremental() %}
    -- started_at is required (the flow-run contract): a cheap range test before the keys
    where {{ rows_where(
        ref('int_flow_runs_enriched'),
        'started_at >= (select min(started_at) from affected) and run_key in (select run_key from affected)'
    ) }}
    {% endif %}

),

final as (

    select
        run_key,
        source_system,
        run_id,
        run_attempt,
        flow_id,
        flow_name,
        flow_version,
        trigger,
        status,
        raw_status,
        is_success,
        is_failed,
        queued_at,
        started_at,
        ended_at,
        duration_ms,
        end_to_end_ms,
        error_type,
        error_message,
        idempotency_key,
        business_key,
        step_attempts,
        step_failures,
        step_retries,
        dead_letters,
        is_duplicate_delivery,
        is_idempotency_collision,
        input_digest,
        step_executions,
        last_ingested_at

    from runs

)

select * from final
