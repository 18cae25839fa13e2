-- One row per flow, step name and UTC day of the step attempts' started_at: attempts and
-- failures, executions and their outcome, retries and dead letters. An execution's outcome
-- (failed, dead-lettered) counts on the day of its final attempt.
with step_attempts as (

    select * from {{ ref('int_step_attempts_enriched') }}

),

daily as (

    select
        flow_id,
        max(flow_name) as flow_name,
        step_name,
        cast(started_at as date) as day,
        count(*) as attempts,
        sum(case when is_failed_attempt then 1 else 0 end) as failed_attempts,
        count(distinct step_execution_key) as executions,
        sum(case when is_final_attempt and is_execution_failed then 1 else 0 end)
            as failed_executions,
        sum(case when is_final_attempt and is_execution_dead_lettered then 1 else 0 end)
            as dead_letters

    from step_attempts
    group by flow_id, step_name, cast(started_at as date)

),

final as (

    select
        flow_id,
        flow_name,
        step_name,
        day,
        cast(attempts as bigint) as attempts,
        cast(failed_attempts as bigint) as failed_attempts,
        {{ safe_ratio('failed_attempts', 'attempts') }} as attempt_failure_rate,
        cast(executions as bigint) as executions,
        cast(failed_executions as bigint) as failed_executions,
        {{ safe_ratio('failed_executions', 'executions') }} as failure_rate,
        cast(attempts - executions as bigint) as retries,
        cast(dead_letters as bigint) as dead_letters,
        {{ safe_ratio('dead_letters', 'executions') }} as dead_letter_rate

    from daily

)

select * from final
