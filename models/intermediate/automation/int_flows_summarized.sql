-- One row per flow_id over all its run attempts: the latest name, source system and version
-- (latest by started_at, then run_key) and the run span and count.
with runs as (

    select * from {{ ref('stg_flowledger__flow_runs') }}
    where flow_id is not null

),

ranked as (

    select
        flow_id,
        flow_name,
        source_system,
        flow_version,
        row_number() over (
            partition by flow_id
            order by started_at desc, run_key desc
        ) as recency_rank,
        row_number() over (
            partition by flow_id
            order by case when flow_version is null then 1 else 0 end, started_at desc, run_key desc
        ) as versioned_recency_rank

    from runs

),

totals as (

    select
        flow_id,
        min(started_at) as first_run_at,
        max(started_at) as last_run_at,
        count(*) as runs

    from runs
    group by flow_id

),

final as (

    select
        totals.flow_id,
        latest.flow_name,
        latest.source_system,
        latest_versioned.flow_version as latest_flow_version,
        totals.first_run_at,
        totals.last_run_at,
        cast(totals.runs as bigint) as runs

    from totals
    inner join ranked as latest
        on totals.flow_id = latest.flow_id
        and latest.recency_rank = 1
    inner join ranked as latest_versioned
        on totals.flow_id = latest_versioned.flow_id
        and latest_versioned.versioned_recency_rank = 1

)

select * from final
