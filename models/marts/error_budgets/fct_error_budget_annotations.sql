-- One row per SLO and marker for the budget charts within the history: each flow version's
-- first run (a deploy), and each declared adjustment window (maintenance, vendor incident).
with slos as (

    select * from {{ ref('int_slo_definitions') }}

),

runs as (

    -- each run's flow, version and start; after `flowledger purge`, the first purged run of
    -- each flow version too (a version's first run stays its first run)
    select flow_id, flow_version, started_at from {{ ref('stg_flowledger__flow_runs') }}
    union all
    select flow_id, flow_version, first_at from {{ purged_history('flow_runs') }} as purged_runs

),

adjustments as (

    {{ budget_adjustment_rows() }}

),

version_starts as (

    select
        slos.slo_id,
        runs.flow_version,
        min(runs.started_at) as first_run_at,
        any_value(slos.as_of) as as_of,
        any_value(slos.horizon_start) as horizon_start

    from slos
    inner join runs
        on runs.flow_id = slos.flow_id
    where runs.flow_version is not null
        and runs.started_at <= slos.as_of
    group by all

),

final as (

    select
        slo_id,
        'flow_version' as kind,
        flow_version as label,
        first_run_at as starts_at,
        cast(null as timestamp) as ends_at

    from version_starts
    where first_run_at > as_of - {{ interval_of("cast(24 * " ~ var('flowledger_budget_history_days', 90) ~ " as bigint)", 'hour') }}

    union all

    select
        adjustments.slo_id,
        adjustments.kind,
        adjustments.name || coalesce(': ' || nullif(adjustments.description, ''), '') as label,
        adjustments.starts_at,
        adjustments.ends_at

    from adjustments
    inner join slos
        on adjustments.slo_id = slos.slo_id
    where adjustments.starts_at <= slos.as_of
        and adjustments.ends_at > slos.horizon_start

)

select * from final
