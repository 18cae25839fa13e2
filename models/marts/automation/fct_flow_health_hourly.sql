-- One row per flow and UTC hour that has a run start or a queue-depth sample: runs, failures,
-- end-to-end latency, step retries and dead letters (of the runs started that hour), queue
-- depth, duplicate deliveries and idempotency collisions.
-- Incremental (DuckDB): a build recomputes whole hours: those of the runs (with their steps) and
-- queue samples that got a row since the newest last_ingested_at here, and of the runs sharing
-- their flow and idempotency key.
-- After `flowledger purge` each part of an hour follows its own table's cut-off: the run and step
-- columns of an hour before the runs' cut-off, and the queue columns of an hour before the queue
-- samples' cut-off, are kept as built from the complete data; the other part of such an hour is
-- computed (a purge of the queue samples alone leaves late runs counted, as a build without it
-- would).
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    unique_key='hour',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    post_hook=["{{ refresh_latest_flow_names(this) }}"],
) }}

{#- The runs are read for each question (which runs changed, which runs share their flow and
    idempotency key, the runs of the recomputed hours) rather than from one CTE read three times,
    which DuckDB would buffer with every column of every run; the watermark is a literal
    (built_through), so DuckDB skips the row groups landed before it. -#}
{%- if is_incremental() -%}
    {%- set watermark = built_through('last_ingested_at', ['last_ingested_at']) -%}
{%- endif %}
{#- the runs' cut-off (runs and steps are purged together) and the queue samples'; `built`: this
    table, to read the parts of purged periods back from (none before the first purge) -#}
{%- set run_horizon = retention_horizon(['flow_runs', 'step_runs']) | trim -%}
{%- set queue_horizon = retention_horizon(['queue_depth_samples']) | trim -%}
{%- set built = built_before_purge(['flow_runs', 'step_runs', 'queue_depth_samples']) -%}
{#- whether an hour's run and step part, and its queue part, are computed from the staged rows
    (every hour when there is nothing to read back: unit tests, Spark, a first build) -#}
{%- if built is none -%}
    {%- set computed_runs, computed_queue = 'true', 'true' -%}
{%- else -%}
    {%- set computed_runs = "(" ~ run_horizon ~ " is null or hour >= " ~ run_horizon ~ ")" -%}
    {%- set computed_queue = "(" ~ queue_horizon ~ " is null or hour >= " ~ queue_horizon ~ ")" -%}
{%- endif %}

with all_queue_samples as (

    select
        *,
        {{ dbt.date_trunc('hour', 'sampled_at') }} as hour

    from {{ ref('stg_flowledger__queue_depth_samples') }}
    where flow_id is not null

),

{% if is_incremental() %}
changed_runs as (

    select changed.flow_id, changed.idempotency_key, changed.started_at
    from {{ ref('int_flow_runs_enriched') }} as changed
    where {{ watermark }} is null
        or changed.last_ingested_at > {{ watermark }}

),

affected_hours as (

    select {{ dbt.date_trunc('hour', 'started_at') }} as hour from changed_runs
    union
    select {{ dbt.date_trunc('hour', 'sharing_a_key.started_at') }}
    from {{ ref('int_flow_runs_enriched') }} as sharing_a_key
    inner join changed_runs
        on sharing_a_key.flow_id = changed_runs.flow_id
        and sharing_a_key.idempotency_key = changed_runs.idempotency_key
    union
    select all_queue_samples.hour
    from all_queue_samples
    where {{ watermark }} is null
        or all_queue_samples.ingested_at > {{ watermark }}

),

recomputed_hours as (

    -- an hour before both cut-offs keeps its row
    select hour from affected_hours
    where {{ computed_runs }} or {{ computed_queue }}

),

recomputed_span as (

    -- a cheap range test before the hour of every run and step execution is compared
    select min(hour) as first_hour, max(hour) as last_hour from recomputed_hours

),
{% endif %}

runs as (

    select
        *,
        {{ dbt.date_trunc('hour', 'started_at') }} as hour

    from {{ ref('int_flow_runs_enriched') }}
    {% if is_incremental() %}
    where started_at >= (select first_hour from recomputed_span)
        and {{ dbt.date_trunc('hour', 'started_at') }} <= (select last_hour from recomputed_span)
        and {{ dbt.date_trunc('hour', 'started_at') }} in (select hour from recomputed_hours)
    {% endif %}

),

step_executions as (

    -- one row per step execution: its final (highest) attempt, which carries the execution's
    -- dead-letter flag (int_step_attempts_enriched); the hour is its run's start
    select
        flow_id,
        is_execution_dead_lettered as has_dead_letter,
        run_started_at,
        {{ dbt.date_trunc('hour', 'run_started_at') }} as hour

    from {{ ref('int_step_attempts_enriched') }}
    where is_final_attempt
        and run_started_at is not null
    {% if is_incremental() %}
        and run_started_at >= (select first_hour from recomputed_span)
        and {{ dbt.date_trunc('hour', 'run_started_at') }} <= (select last_hour from recomputed_span)
        and {{ dbt.date_trunc('hour', 'run_started_at') }} in (select hour from recomputed_hours)
    {% endif %}

),

queue_samples as (

    select * from all_queue_samples
    {% if is_incremental() %}
    where hour in (select hour from recomputed_hours)
    {% endif %}

),

{% if built is not none %}
kept_hours as (

    -- the rows built before, of the hours this build computes: parts past their cut-off are
    -- read back from them
    select * from {{ built }}
    {% if is_incremental() %}where hour in (select hour from recomputed_hours){% endif %}

),
{% endif %}

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
        sum(case when is_idempotency_collision then 1 else 0 end) as idempotency_collisions,
        max(last_ingested_at) as last_ingested_at

    from runs
    where {{ computed_runs }}
    group by flow_id, hour
    {% if built is not none %}
    union all
    select
        flow_id,
        hour,
        runs,
        failed_runs,
        latency_p50_ms,
        latency_p95_ms,
        step_retries,
        duplicate_deliveries,
        idempotency_collisions,
        last_ingested_at

    from kept_hours
    where not {{ computed_runs }}
        and runs > 0
    {% endif %}

),

execution_hours as (

    select
        flow_id,
        hour,
        count(*) as step_executions,
        sum(case when has_dead_letter then 1 else 0 end) as dead_letters

    from step_executions
    where {{ computed_runs }}
    group by flow_id, hour
    {% if built is not none %}
    union all
    select flow_id, hour, step_executions, dead_letters
    from kept_hours
    where not {{ computed_runs }}
        and step_executions > 0
    {% endif %}

),

queue_hours as (

    select
        flow_id,
        hour,
        avg(queue_depth) as queue_depth_avg,
        max(queue_depth) as queue_depth_max,
        max(ingested_at) as last_ingested_at

    from queue_samples
    where {{ computed_queue }}
    group by flow_id, hour
    {% if built is not none %}
    union all
    select flow_id, hour, queue_depth_avg, queue_depth_max, last_ingested_at
    from kept_hours
    where not {{ computed_queue }}
        and queue_depth_max is not null
    {% endif %}

),

{% if built is not none %}
kept_names as (

    -- the name a flow had when its hours were built: a flow whose runs were all purged
    select flow_id, max(flow_name) as flow_name
    from {{ built }}
    group by flow_id

),
{% endif %}

flow_hours as (

    select flow_id, hour from run_hours
    union
    select flow_id, hour from queue_hours

),

final as (

    select
        flow_hours.flow_id,
        coalesce(
            flows.flow_name,
            {% if built is not none %}kept_names.flow_name,{% endif %}
            flow_hours.flow_id
        ) as flow_name,
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
        cast(coalesce(run_hours.idempotency_collisions, 0) as bigint) as idempotency_collisions,
        greatest(
            coalesce(run_hours.last_ingested_at, queue_hours.last_ingested_at),
            coalesce(queue_hours.last_ingested_at, run_hours.last_ingested_at)
        ) as last_ingested_at

    from flow_hours
    left join flows
        on flow_hours.flow_id = flows.flow_id
    {% if built is not none %}
    left join kept_names
        on flow_hours.flow_id = kept_names.flow_id
    {% endif %}
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
