-- One row per flow and UTC hour that has a run start or a queue-depth sample: runs, failures,
-- end-to-end latency, step retries and dead letters (of the runs started that hour), queue
-- depth, duplicate deliveries and idempotency collisions.
with runs as (

    select
        *,
        {{ dbt.date_trunc('hour', 'started_at') }} as hour

    from {{ ref('int_flow_runs_enriched') }}

),

step_executions as (

    select
        *,
        {{ dbt.date_trunc('hour', 'run_started_at') }} as hour

    from {{ ref('int_step_executions_rolled_up') }}
    where run_started_at is not null

),

queue_samples as (

    select
        *,
        {{ dbt.date_trunc('hour', 'sampled_at') }} as hour

    from {{ ref('stg_flowledger__queue_depth_samples') }}
    where flow_id is not null

),

flows as (

    select * from {{ ref('int_flows_summarized') }}

),

run_hours as (

    select
        flow_id,
        hour,
        count(*) as runs,
        sum(case when is_failed then 1 else 0 end) as failed_runs,
        {{ percentile_cont('end_to_end_ms', 0.5) }} as latency_p50_ms,
        {{ percentile_cont('end_to_end_ms', 0.95) }} as latency_p95_ms,
        sum(step_retries) as step_retries,
        sum(case when is_duplicate_delivery then 1 else 0 end) as duplicate_deliveries,
        sum(case when is_idempotency_collision then 1 else 0 end) as idempotency_collisions

    from runs
    group by flow_id, hour

),

execution_hours as (

    select
        flow_id,
        hour,
        count(*) as step_executions,
        sum(case when has_dead_letter then 1 else 0 end) as dead_letters

    from step_executions
    group by flow_id, hour

),

queue_hours as (

    select
        flow_id,
        hour,
        avg(queue_depth) as queue_depth_avg,
        max(queue_depth) as queue_depth_max

    from queue_samples
    group by flow_id, hour

),

flow_hours as (

    select flow_id, hour from run_hours
    union
    select flow_id, hour from queue_hours

),

final as (

    select
        flow_hours.flow_id,
        coalesce(flows.flow_name, flow_hours.flow_id) as flow_name,
        flow_hours.hour,
        cast(coalesce(run_hours.runs, 0) as bigint) as runs,
        cast(coalesce(run_hours.failed_runs, 0) as bigint) as failed_runs,
        {{ safe_ratio('run_hours.failed_runs', 'run_hours.runs') }} as failure_rate,
        cast(run_hours.latency_p50_ms as double) as latency_p50_ms,
        cast(run_hours.latency_p95_ms as double) as latency_p95_ms,
        cast(coalesce(run_hours.step_retries, 0) as bigint) as step_retries,
        cast(coalesce(execution_hours.dead_letters, 0) as bigint) as dead_letters,
        cast(coalesce(execution_hours.step_executions, 0) as bigint) as step_executions,
        {{ safe_ratio('execution_hours.dead_letters', 'execution_hours.step_executions') }}
            as dead_letter_rate,
        cast(queue_hours.queue_depth_avg as double) as queue_depth_avg,
        cast(queue_hours.queue_depth_max as bigint) as queue_depth_max,
        cast(coalesce(run_hours.duplicate_deliveries, 0) as bigint) as duplicate_deliveries,
        cast(coalesce(run_hours.idempotency_collisions, 0) as bigint) as idempotency_collisions

    from flow_hours
    left join flows
        on flow_hours.flow_id = flows.flow_id
    left join run_hours
        on flow_hours.flow_id = run_hours.flow_id
        and flow_hours.hour = run_hours.hour
    left join execution_hours
        on flow_hours.flow_id = execution_hours.flow_id
        and flow_hours.hour = execution_hours.hour
    left join queue_hours
        on flow_hours.flow_id = queue_hours.flow_id
        and flow_hours.hour = queue_hours.hour

)

select * from final
