-- One row per process and directly-follows pair (step a immediately followed by step b in a case,
-- in event order): how often, and the waiting time between the two events (PM4Py's performance
-- DFG: mean and median of the seconds between consecutive events).
with case_events as (

    select * from {{ ref('int_case_events_mapped') }}

),

pairs as (

    select
        process_name,
        step_name as from_step,
        lead(step_name) over (partition by case_key order by event_sequence) as to_step,
        {{ seconds_between('occurred_at', 'lead(occurred_at) over (partition by case_key order by event_sequence)') }}
            as wait_seconds

    from case_events

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
    where to_step is not null
    group by process_name, from_step, to_step

)

select * from final
