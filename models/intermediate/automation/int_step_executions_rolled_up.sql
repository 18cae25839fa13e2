-- One row per step execution (run_key + step_id): its attempts, failures, retries and dead
-- letters, and whether its final (highest) attempt failed.
-- Incremental (DuckDB): a build recomputes the step executions with an attempt, or a run, ingested
-- since the newest ingest time here (as int_step_attempts_enriched does); a post-hook renames the
-- flows renamed by a newer run in the other rows. On Spark the model is a table rebuilt whole.
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    unique_key='step_execution_key',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    pre_hook=["{{ delete_purged_rows('step_execution_key', ref('stg_flowledger__step_runs'), ['step_runs', 'flow_runs'], 'first_attempt_started_at') }}"],
    post_hook=["{{ refresh_flow_names_or_ids(this) }}"],
) }}

{#- Every attempt of the executions changed since the watermark carries an
    execution_last_ingested_at after it: one filter, which DuckDB pushes into the scan (the
    recomputed attempts sit in the row groups written last). -#}
{%- if is_incremental() -%}
    {%- set watermark = built_through(
        'greatest(last_ingested_at, coalesce(run_ingested_at, last_ingested_at))',
        ['run_ingested_at'],
    ) -%}
{%- endif %}

with step_attempts as (

    select * from {{ ref('int_step_attempts_enriched') }}
    {% if is_incremental() %}
    where {{ watermark }} is null
        or execution_last_ingested_at > {{ watermark }}
    {% endif %}

),

rolled_up as (

    select
        step_execution_key,
        run_key,
        step_id,
        flow_id,
        flow_name,
        max(case when is_final_attempt then step_name end) as step_name,
        min(started_at) as first_attempt_started_at,
        max(run_started_at) as run_started_at,
        count(*) as attempts,
        sum(case when is_failed_attempt then 1 else 0 end) as failed_attempts,
        sum(case when is_retry_attempt then 1 else 0 end) as retry_attempts,
        sum(case when is_dead_lettered then 1 else 0 end) as dead_lettered_attempts,
        max(case when is_final_attempt then execution_final_status end) as final_status,
        max(ingested_at) as last_ingested_at,
        max(run_ingested_at) as run_ingested_at

    from step_attempts
    group by step_execution_key, run_key, step_id, flow_id, flow_name

),

final as (

    select
        step_execution_key,
        run_key,
        step_id,
        flow_id,
        flow_name,
        step_name,
        first_attempt_started_at,
        run_started_at,
        cast(attempts as bigint) as attempts,
        cast(failed_attempts as bigint) as failed_attempts,
        cast(retry_attempts as bigint) as retry_attempts,
        cast(dead_lettered_attempts as bigint) as dead_lettered_attempts,
        final_status,
        final_status in ('failed', 'timed_out') as is_failed,
        dead_lettered_attempts > 0 as has_dead_letter,
        last_ingested_at,
        -- when its run row landed (NULL when the run was never received)
        run_ingested_at

    from rolled_up

)

select * from final
