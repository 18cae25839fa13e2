-- One row per flow, step name and UTC day of the step attempts' started_at: attempts and
-- failures, executions and their outcome, retries and dead letters. An execution's outcome
-- (failed, dead-lettered) counts on the day of its final attempt.
-- Incremental (DuckDB): a build recomputes whole days: every day of every attempt of the step
-- executions that got a row (an attempt, or their run) since the newest last_ingested_at here,
-- never a day before the retention cut-off (`flowledger purge`), whose rows stay as built.
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    unique_key='day',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    post_hook=["{{ refresh_latest_flow_names(this) }}"],
) }}

{#- The step attempts are read for each question (on which days the executions changed since
    the watermark have attempts, every attempt of those days) rather than from one CTE read
    twice, which DuckDB would buffer with every column of every attempt; the changed executions'
    attempts are found by execution_last_ingested_at alone, a filter pushed into the scan. -#}
{%- set watermark = built_through('last_ingested_at', ['last_ingested_at']) %}

with

{% if is_incremental() %}
affected_days as (

    -- every day of every attempt of the executions changed since the watermark
    select distinct cast(attempts_of_changed.started_at as date) as day
    from {{ ref('int_step_attempts_enriched') }} as attempts_of_changed
    where {{ watermark }} is null
        or attempts_of_changed.execution_last_ingested_at > {{ watermark }}

),
{% endif %}

step_attempts as (

    select * from {{ ref('int_step_attempts_enriched') }}
    {% if is_incremental() %}
    -- a cheap range test before each attempt's day is compared with the affected days
    where started_at >= (select cast(min(day) as timestamp) from affected_days)
        and cast(started_at as date) <= (select max(day) from affected_days)
        and cast(started_at as date) in (select day from affected_days)
        and (
            {{ retention_horizon(['step_runs', 'flow_runs']) }} is null
            or started_at >= {{ retention_horizon(['step_runs', 'flow_runs']) }}
        )
    {% endif %}

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
            as dead_letters,
        max(greatest(
            coalesce(ingested_at, run_ingested_at), coalesce(run_ingested_at, ingested_at)
        )) as last_ingested_at

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
        {{ safe_ratio('dead_letters', 'executions') }} as dead_letter_rate,
        last_ingested_at

    from daily

)

select * from final
{{ keep_purged_periods('day', ['step_runs', 'flow_runs']) }}
