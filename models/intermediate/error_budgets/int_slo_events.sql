-- One row per SLO and counted event, as of the SLO's `as_of`:
--   run_success / latency: a finished run (success, failed, timed_out) that ended by as_of;
--     count_by 'outcome' keeps only the final finished attempt per idempotency key (else per
--     run) after retries and redeliveries, 'attempt' keeps every attempt. Latency counts
--     successful runs only, good when under the threshold.
--   event_pair: a case opened by the start event (first one per join key); it counts when its
--     deadline passes: good when the end event came by the deadline, bad when late or missing.
--     Cases whose deadline is still ahead are in flight (is_decided = false). The start and end
--     events, with their join key extracted once, come from int_slo_pair_events.
-- Attribution columns (failing step, error type, connector, flow version) and whether a declared
-- adjustment (maintenance, vendor incident) covers the event.
-- Events are recomputed by group (`event_group`): for runs the SLO's idempotency key (else the
-- run), for event pairs the case key. Incremental (DuckDB, delete+insert by slo_id, event_group):
-- a build recomputes the run groups with a run that got a row (the run or a step) since the newest
-- last_ingested_at here, the cases with a start or end event ingested since, the cases in flight
-- whose deadline the new as_of passed, and whole every SLO whose definition, adjustments or fixed
-- as_of changed (inputs_digest); after `flowledger purge`, the run groups that lost a run and
-- every event-pair SLO whole; a group that ends with no event (a late failed final attempt of a
-- latency SLO) is emptied through a marker row the post-hook deletes. On Spark a table rebuilt
-- whole.
{%- set built_columns = ['event_group', 'last_ingested_at', 'inputs_digest'] -%}
{%- set reads_built = built_with_columns(built_columns) -%}
{#- The newest ingest time built, a literal DuckDB pushes into the scans of the runs and events
    (row groups landed before it skipped); the runs are read for each question (which groups
    changed, the runs of those groups) rather than from a CTE read three times, which DuckDB would
    buffer with every column of every run. -#}
{%- set watermark = built_through('last_ingested_at', built_columns) if reads_built else 'cast(null as timestamp)' -%}
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    column_compression={'event_key': 'uncompressed', 'event_group': 'uncompressed'},
    unique_key=['slo_id', 'event_group'],
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    pre_hook=["{{ delete_rows_of_an_older_build(" ~ built_columns ~ ") }}"],
    post_hook=["{{ delete_recompute_markers(this, 'event_key') }}"],
) }}

with slos as (

    select
        *,
        {{ slo_events_inputs_digest('slo_id') }} as inputs_digest

    from {{ ref('int_slo_definitions') }}

),

adjustments as (

    {{ budget_adjustment_rows() }}

),

{% if reads_built %}
{#- The built rows are read from {{ this }} by each question with its own columns and filters,
    not from one CTE: DuckDB would buffer every built row with every column it is read for
    (10M: 0.66 of the query's 1.14 CPU s). -#}
built_slos as (

    -- the SLOs built, each with the inputs it was built from (one digest per SLO)
    select slo_id, min(inputs_digest) as inputs_digest
    from {{ this }}
    group by slo_id

),

rebuilt_slos as (

    -- SLOs computed whole: new, or built from other inputs (definition, adjustments, as_of var)
    select slos.slo_id
    from slos
    left join built_slos
        on slos.slo_id = built_slos.slo_id
    where built_slos.inputs_digest is null
        or built_slos.inputs_digest <> slos.inputs_digest
    {% if retention_horizon(['business_events']) | trim != 'cast(null as timestamp)' %}
    union
    -- after a purge of business events, event pairs are computed whole (cases lost events)
    select slo_id from slos where indicator = 'event_pair'
    {% endif %}

),

changed_run_groups as (

    select distinct
        slos.slo_id,
        coalesce(changed_runs.idempotency_key, changed_runs.run_identity) as event_group

    from slos
    inner join {{ ref('int_flow_runs_enriched') }} as changed_runs
        on changed_runs.flow_id = slos.flow_id
    where slos.indicator in ('run_success', 'latency')
        and (
            {{ watermark }} is null
            or changed_runs.last_ingested_at > {{ watermark }}
        )
    union
    -- every group of the SLOs computed whole
    select distinct
        slos.slo_id,
        coalesce(runs_of_rebuilt.idempotency_key, runs_of_rebuilt.run_identity) as event_group

    from slos
    inner join {{ ref('int_flow_runs_enriched') }} as runs_of_rebuilt
        on runs_of_rebuilt.flow_id = slos.flow_id
    where slos.indicator in ('run_success', 'latency')
        and slos.slo_id in (select slo_id from rebuilt_slos)
    {% if retention_horizon(['flow_runs', 'step_runs']) | trim != 'cast(null as timestamp)' %}
    union
    -- groups with a run `flowledger purge` deleted (what is left of the group is computed again)
    select built.slo_id, built.event_group
    from {{ this }} as built
    inner join slos
        on built.slo_id = slos.slo_id
    where slos.indicator in ('run_success', 'latency')
        and built.event_key not in (select run_key from {{ ref('int_flow_runs_enriched') }})
    {% endif %}

),

changed_cases as (

    -- cases with a start or end event ingested since the last build
    select distinct slo_id, case_key as event_group
    from {{ ref('int_slo_pair_events') }}
    where {{ watermark }} is null
        or ingested_at > {{ watermark }}

    union

    -- cases in flight whose deadline the new as_of passed
    select built.slo_id, built.event_group
    from {{ this }} as built
    inner join slos
        on built.slo_id = slos.slo_id
    where not built.is_decided
        and built.event_at <= slos.as_of

),

recomputed_groups as (

    -- every group whose rows this build replaces (a marker row each, see the post-hook)
    select slo_id, event_group from changed_run_groups
    union
    select slo_id, event_group from changed_cases where event_group is not null
    union
    select built.slo_id, built.event_group
    from {{ this }} as built
    where built.slo_id in (
        -- SLOs no longer defined, and SLOs computed whole
        select slo_id from built_slos where slo_id not in (select slo_id from slos)
        union all
        select slo_id from rebuilt_slos
    )

),
{% endif %}

run_slos as (

    select
        slos.slo_id,
        slos.indicator,
        slos.count_by,
        slos.latency_span,
        slos.threshold_ms,
        slos.threshold_inclusive,
        runs.run_key,
        runs.source_system,
        runs.run_id,
        runs.run_attempt,
        runs.is_success,
        -- a finished run whose export gives no end (a crashed worker's failure) counts at its
        -- start, not never
        coalesce(runs.ended_at, runs.started_at) as ended_at,
        runs.duration_ms,
        runs.end_to_end_ms,
        runs.flow_version,
        runs.error_type,
        coalesce(runs.idempotency_key, runs.run_identity) as event_group,
        runs.last_ingested_at,
        {{ budget_seconds(
            'min(coalesce(runs.queued_at, runs.started_at)) over (partition by slos.slo_id, coalesce(runs.idempotency_key, runs.run_identity))',
            'runs.ended_at') }} * 1000.0 as outcome_end_to_end_ms,
        row_number() over (
            partition by slos.slo_id, coalesce(runs.idempotency_key, runs.run_identity)
            order by runs.started_at desc, runs.ended_at desc, runs.run_key desc
        ) = 1 as is_final_attempt

    from slos
    inner join {{ ref('int_flow_runs_enriched') }} as runs
        on runs.flow_id = slos.flow_id
    {% if reads_built %}
    inner join changed_run_groups
        on slos.slo_id = changed_run_groups.slo_id
        and coalesce(runs.idempotency_key, runs.run_identity) = changed_run_groups.event_group
    {% endif %}
    where slos.indicator in ('run_success', 'latency')
        and runs.status in ('success', 'failed', 'timed_out')
        and coalesce(runs.ended_at, runs.started_at) <= slos.as_of

),

failed_step_executions as (

    -- a final attempt can only fail in an execution with a failed attempt: the window below runs
    -- on those executions alone. The step attempts are read twice, filtered, not kept whole, and
    -- joined on the raw key columns, so staging builds its keys for the failed executions alone
    select distinct run_key, source_system, run_id, run_attempt, step_id
    from {{ ref('stg_flowledger__step_runs') }}
    where status in ('failed', 'timed_out')
    {% if reads_built %}
        -- the run attempts of the recomputed groups: only their steps are read (a step
        -- execution belongs to one run attempt)
        and (source_system, run_id, run_attempt) in (
            select source_system, run_id, run_attempt from run_slos
        )
    {% endif %}

),

final_step_attempts as (

    select
        failed_step_executions.run_key,
        step_attempts.step_id,
        step_attempts.step_name,
        step_attempts.called_system,
        step_attempts.error_type,
        step_attempts.started_at,
        step_attempts.status

    from {{ ref('stg_flowledger__step_runs') }} as step_attempts
    inner join failed_step_executions
        on step_attempts.source_system = failed_step_executions.source_system
        and step_attempts.run_id = failed_step_executions.run_id
        and step_attempts.run_attempt = failed_step_executions.run_attempt
        and step_attempts.step_id = failed_step_executions.step_id
    qualify row_number() over (
        partition by failed_step_executions.run_key, step_attempts.step_id
        order by step_attempts.attempt desc
    ) = 1

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
        failing_steps.failing_system,
        run_slos.event_group,
        run_slos.last_ingested_at

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

case_pair_events as (

    -- the start and end events of the cases recomputed, their join key extracted once
    select * from {{ ref('int_slo_pair_events') }}
    {% if reads_built %}
    where {{ rows_where(
        ref('int_slo_pair_events'),
        '(slo_id, case_key) in (select slo_id, event_group from changed_cases)'
        ~ ' or slo_id in (select slo_id from rebuilt_slos)'
    ) }}
    {% endif %}

),

case_starts as (

    select
        pair_slos.slo_id,
        pair_events.case_key,
        min(pair_events.occurred_at) as started_at,
        max(pair_events.ingested_at) as last_ingested_at

    from pair_slos
    inner join case_pair_events as pair_events
        on pair_events.slo_id = pair_slos.slo_id
        and pair_events.occurred_at <= pair_slos.as_of
    where pair_events.is_start
    group by pair_slos.slo_id, pair_events.case_key

),

case_ends as (

    select
        pair_slos.slo_id,
        pair_events.case_key,
        pair_events.occurred_at as ended_at,
        pair_events.ingested_at

    from pair_slos
    inner join case_pair_events as pair_events
        on pair_events.slo_id = pair_slos.slo_id
        and pair_events.occurred_at <= pair_slos.as_of
    where pair_events.is_end

),

cases as (

    select
        case_starts.slo_id,
        case_starts.case_key,
        case_starts.started_at,
        case_starts.started_at + {{ interval_of('cast(round(pair_slos.deadline_seconds * 1000000) as bigint)', 'microsecond') }}
            as deadline_at,
        min(case_ends.ended_at) as ended_at,
        any_value(pair_slos.as_of) as as_of,
        case_starts.last_ingested_at as starts_last_ingested_at,
        max(case_ends.ingested_at) as ends_last_ingested_at

    from case_starts
    inner join pair_slos
        on case_starts.slo_id = pair_slos.slo_id
    left join case_ends
        on case_starts.slo_id = case_ends.slo_id
        and case_starts.case_key = case_ends.case_key
        and case_ends.ended_at >= case_starts.started_at
    {% if reads_built %}
    where case_starts.slo_id in (select slo_id from rebuilt_slos)
        or exists (
            select 1 from changed_cases
            where changed_cases.slo_id = case_starts.slo_id
                and changed_cases.event_group = case_starts.case_key
        )
    {% endif %}
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
        cast(null as string) as failing_system,
        case_key as event_group,
        greatest(
            starts_last_ingested_at, coalesce(ends_last_ingested_at, starts_last_ingested_at)
        ) as last_ingested_at

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
        end as connector,
        counted.event_group,
        counted.last_ingested_at,
        slos.inputs_digest

    from counted
    inner join slos
        on counted.slo_id = slos.slo_id
    left join adjusted
        on counted.slo_id = adjusted.slo_id
        and counted.event_key = adjusted.event_key

)

select * from final
{% if reads_built %}
union all
-- one marker row per recomputed group: the delete empties the group, the post-hook drops it
select
    slo_id,
    cast(null as string) as event_key,
    cast(null as timestamp) as event_at,
    cast(null as boolean) as is_decided,
    cast(null as boolean) as is_good,
    cast(null as boolean) as is_adjusted,
    cast(null as double) as latency_ms,
    cast(null as string) as flow_version,
    cast(null as string) as failing_step,
    cast(null as string) as error_type,
    cast(null as string) as connector,
    event_group,
    cast(null as timestamp) as last_ingested_at,
    cast(null as string) as inputs_digest

from recomputed_groups
{% endif %}
