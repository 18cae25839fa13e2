-- One row per SLO and counted event, as of the SLO's `as_of`:
--   run_success / latency: a finished run (success, failed, timed_out) that ended by as_of;
--     count_by 'outcome' keeps only the final finished attempt per idempotency key (else per
--     run) after retries and redeliveries, 'attempt' keeps every attempt. Latency counts
--     successful runs only, good when under the threshold.
--   event_pair: a case opened by the start event (first one per join key); it counts when its
--     deadline passes: good when the end event came by the deadline, bad when late or missing.
--     Cases whose deadline is still ahead are in flight (is_decided = false).
-- Attribution columns (failing step, error type, connector, flow version) and whether a declared
-- adjustment (maintenance, vendor incident) covers the event.
with slos as (

    select * from {{ ref('int_slo_definitions') }}

),

runs as (

    select * from {{ ref('int_flow_runs_enriched') }}

),

step_attempts as (

    select * from {{ ref('stg_flowledger__step_runs') }}

),

business_events as (

    select * from {{ ref('stg_flowledger__business_events') }}

),

adjustments as (

    {{ budget_adjustment_rows() }}

),

final_step_attempts as (

    select
        run_key,
        step_id,
        step_name,
        called_system,
        error_type,
        started_at,
        status

    from step_attempts
    qualify row_number() over (partition by step_execution_key order by attempt desc) = 1

),

failing_steps as (

    -- The first step (by start) whose final attempt failed: where the run broke.
    select
        run_key,
        coalesce(step_name, step_id) as failing_step,
        called_system as failing_system,
        error_type as step_error_type

    from final_step_attempts
    where status in ('failed', 'timed_out')
    qualify row_number() over (partition by run_key order by started_at, step_id) = 1

),

run_slos as (

    select
        slos.slo_id,
        slos.indicator,
        slos.count_by,
        slos.latency_span,
        slos.threshold_ms,
        slos.threshold_inclusive,
        runs.run_key,
        runs.is_success,
        runs.ended_at,
        runs.duration_ms,
        runs.end_to_end_ms,
        runs.flow_version,
        runs.error_type,
        {{ budget_seconds(
            'min(coalesce(runs.queued_at, runs.started_at)) over (partition by slos.slo_id, coalesce(runs.idempotency_key, runs.run_identity))',
            'runs.ended_at') }} * 1000.0 as outcome_end_to_end_ms,
        row_number() over (
            partition by slos.slo_id, coalesce(runs.idempotency_key, runs.run_identity)
            order by runs.started_at desc, runs.ended_at desc, runs.run_key desc
        ) = 1 as is_final_attempt

    from slos
    inner join runs
        on runs.flow_id = slos.flow_id
    where slos.indicator in ('run_success', 'latency')
        and runs.status in ('success', 'failed', 'timed_out')
        and runs.ended_at <= slos.as_of

),

run_events as (

    select
        run_slos.slo_id,
        run_slos.run_key as event_key,
        run_slos.ended_at as event_at,
        true as is_decided,
        case
            when run_slos.indicator = 'run_success' then run_slos.is_success
            when run_slos.threshold_inclusive then run_slos.latency_ms <= run_slos.threshold_ms
            else run_slos.latency_ms < run_slos.threshold_ms
        end as is_good,
        run_slos.flow_version,
        run_slos.indicator,
        run_slos.latency_ms,
        failing_steps.failing_step,
        coalesce(run_slos.error_type, failing_steps.step_error_type) as error_type,
        failing_steps.failing_system

    from (
        select
            *,
            case
                when latency_span = 'end_to_end' and count_by = 'outcome' then outcome_end_to_end_ms
                when latency_span = 'end_to_end' then end_to_end_ms
                else duration_ms
            end as latency_ms
        from run_slos
        where is_final_attempt or count_by = 'attempt'
    ) as run_slos
    left join failing_steps
        on run_slos.run_key = failing_steps.run_key
    where run_slos.indicator = 'run_success' or run_slos.is_success

),

pair_slos as (

    select * from slos where indicator = 'event_pair'

),

case_starts as (

    select
        pair_slos.slo_id,
        {{ json_extract_text('business_events.data_json', 'pair_slos.join_key') }}
            as case_key,
        min(business_events.occurred_at) as started_at

    from pair_slos
    inner join business_events
        on business_events.event_type = pair_slos.start_event
        and (pair_slos.event_source is null or business_events.event_source = pair_slos.event_source)
        and business_events.occurred_at <= pair_slos.as_of
    group by all
    having case_key is not null

),

case_ends as (

    select
        pair_slos.slo_id,
        {{ json_extract_text('business_events.data_json', 'pair_slos.join_key') }}
            as case_key,
        business_events.occurred_at as ended_at

    from pair_slos
    inner join business_events
        on business_events.event_type = pair_slos.end_event
        and business_events.occurred_at <= pair_slos.as_of

),

cases as (

    select
        case_starts.slo_id,
        case_starts.case_key,
        case_starts.started_at,
        case_starts.started_at + {{ interval_of('cast(round(pair_slos.deadline_seconds * 1000000) as bigint)', 'microsecond') }}
            as deadline_at,
        min(case_ends.ended_at) as ended_at,
        any_value(pair_slos.as_of) as as_of

    from case_starts
    inner join pair_slos
        on case_starts.slo_id = pair_slos.slo_id
    left join case_ends
        on case_starts.slo_id = case_ends.slo_id
        and case_starts.case_key = case_ends.case_key
        and case_ends.ended_at >= case_starts.started_at
    group by all

),

pair_events as (

    select
        slo_id,
        case_key as event_key,
        deadline_at as event_at,
        deadline_at <= as_of as is_decided,
        coalesce(ended_at <= deadline_at, false) as is_good,
        cast(null as string) as flow_version,
        'event_pair' as indicator,
        cast(null as double) as latency_ms,
        cast(null as string) as failing_step,
        case
            when ended_at is null then 'missing'
            when ended_at > deadline_at then 'late'
        end as error_type,
        cast(null as string) as failing_system

    from cases

),

counted as (

    select * from run_events
    union all
    select * from pair_events

),

adjusted as (

    select distinct
        counted.slo_id,
        counted.event_key

    from counted
    inner join adjustments
        on counted.slo_id = adjustments.slo_id
        and counted.event_at >= adjustments.starts_at
        and counted.event_at < adjustments.ends_at

),

final as (

    select
        counted.slo_id,
        counted.event_key,
        counted.event_at,
        counted.is_decided,
        counted.is_good,
        adjusted.event_key is not null as is_adjusted,
        counted.latency_ms,
        coalesce(counted.flow_version, '(none)') as flow_version,
        case
            when counted.is_good then null
            when counted.indicator = 'latency' then '(slow run)'
            when counted.indicator = 'event_pair' then '(end event ' || counted.error_type || ')'
            else coalesce(counted.failing_step, '(run level)')
        end as failing_step,
        case
            when counted.is_good then null
            when counted.indicator = 'latency' then 'over_threshold'
            else coalesce(counted.error_type, '(unknown)')
        end as error_type,
        case
            when counted.is_good then null
            else coalesce(counted.failing_system, '(none)')
        end as connector

    from counted
    left join adjusted
        on counted.slo_id = adjusted.slo_id
        and counted.event_key = adjusted.event_key

)

select * from final
