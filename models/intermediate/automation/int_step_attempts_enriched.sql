-- One row per step attempt, with its flow (from its run, else its own flow_id), the flow's
-- latest name, its run's start, and the outcome of its whole step execution
-- (run_key + step_id: all attempts of one step in one run attempt).
with step_attempts as (

    select * from {{ ref('stg_flowledger__step_runs') }}

),

runs as (

    select * from {{ ref('stg_flowledger__flow_runs') }}

),

flows as (

    select * from {{ ref('int_flows_summarized') }}

),

attempts_with_flow as (

    select
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
        runs.ingested_at as run_ingested_at

    from step_attempts
    left join runs
        on step_attempts.run_key = runs.run_key

),

classified as (

    select
        attempts_with_flow.*,
        coalesce(flows.flow_name, attempts_with_flow.flow_id) as flow_name,
        attempts_with_flow.status in ('failed', 'timed_out') as is_failed_attempt,
        attempts_with_flow.attempt > 1 as is_retry_attempt,
        row_number() over (
            partition by attempts_with_flow.step_execution_key
            order by attempts_with_flow.attempt desc
        ) = 1 as is_final_attempt,
        first_value(attempts_with_flow.status) over (
            partition by attempts_with_flow.step_execution_key
            order by attempts_with_flow.attempt desc
            rows between unbounded preceding and unbounded following
        ) as execution_final_status,
        max(case when attempts_with_flow.is_dead_lettered then 1 else 0 end) over (
            partition by attempts_with_flow.step_execution_key
        ) = 1 as is_execution_dead_lettered

    from attempts_with_flow
    left join flows
        on attempts_with_flow.flow_id = flows.flow_id

),

final as (

    select
        {{ dbt.concat(['step_execution_key', "':'", dbt.cast('attempt', dbt.type_string())]) }}
            as step_attempt_key,
        classified.*,
        execution_final_status in ('failed', 'timed_out') as is_execution_failed

    from classified

)

select * from final
