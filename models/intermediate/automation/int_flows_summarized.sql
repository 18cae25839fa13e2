-- One row per flow_id over all its run attempts: the latest name, source system and version
-- (latest by started_at, then run_key) and the run span and count. After `flowledger purge`
-- the first run and the count include the purged runs (macros/retention_horizon.sql
-- purged_history), so the flow's history does not shrink with its raw rows.
-- One hash aggregate over the runs: the latest values are max_by on the (started_at, run_key)
-- pair (both required by the flow-run contract, so never NULL), no window sorts the runs of a
-- flow on one thread.
{%- set recency = ('struct' if target.type == 'spark' else 'row') ~ '(started_at, run_key)' %}

with runs as (

    select * from {{ ref('stg_flowledger__flow_runs') }}
    where flow_id is not null

),

summarized as (

    select
        flow_id,
        max_by(flow_name, {{ recency }}) as flow_name,
        max_by(source_system, {{ recency }}) as source_system,
        max_by(flow_version, {{ recency }}) filter (where flow_version is not null)
            as latest_flow_version,
        min(started_at) as first_run_at,
        max(started_at) as last_run_at,
        count(*) as runs

    from runs
    group by flow_id

),

purged as (

    select
        flow_id,
        min(first_at) as first_run_at,
        sum(purged_rows) as runs

    from {{ purged_history('flow_runs') }} as purged_runs
    group by flow_id

),

final as (

    select
        summarized.flow_id,
        summarized.flow_name,
        summarized.source_system,
        summarized.latest_flow_version,
        least(summarized.first_run_at, coalesce(purged.first_run_at, summarized.first_run_at))
            as first_run_at,
        summarized.last_run_at,
        cast(summarized.runs + coalesce(purged.runs, 0) as bigint) as runs

    from summarized
    left join purged
        on summarized.flow_id = purged.flow_id

)

select * from final
