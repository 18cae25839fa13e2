-- One row per process and directly-follows pair (step a immediately followed by step b in a case,
-- in event order): how often, and the waiting time between the two events (PM4Py's performance
-- DFG: mean and median of the seconds between consecutive events). Each mapped event carries the
-- step of the case's next event and the seconds to it (int_case_events_mapped), so the pairs are
-- the events that have a next one.
with case_events as (

    select * from {{ ref('int_case_events_mapped') }}

),

pairs as (

    select
        process_name,
        step_name as from_step,
        next_step_name as to_step,
        seconds_to_next_event as wait_seconds

    from case_events
    where next_step_name is not null

),

final as (

    select
        process_name,
        from_step,
        to_step,
        cast(count(*) as bigint) as transitions,
        {{ exact_avg("wait_seconds") }} as wait_mean_seconds,
        {{ percentile_cont('wait_seconds', 0.5) }} as wait_median_seconds,
        {{ percentile_cont('wait_seconds', 0.95) }} as wait_p95_seconds,
        min(wait_seconds) as wait_min_seconds,
        max(wait_seconds) as wait_max_seconds

    from pairs
    group by process_name, from_step, to_step

)

select * from final
