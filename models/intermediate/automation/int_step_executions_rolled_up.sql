-- One row per step execution (run_key + step_id): its attempts, failures, retries and dead
-- letters, and whether its final (highest) attempt failed.
with step_attempts as (

    select * from {{ ref('int_step_attempts_enriched') }}

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
        max(ingested_at) as last_ingested_at

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
        last_ingested_at

    from rolled_up

)

select * from final
