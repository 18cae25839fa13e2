-- One row per process and directly-follows pair (step a immediately followed by step b in a case,
-- in event order): how often, and the waiting time between the two events (PM4Py's performance
-- DFG: mean and median of the seconds between consecutive events).
with case_events as (

    select * from {{ ref('int_case_events_mapped') }}

),

-- event_sequence numbers a case's events 1, 2, 3, ...: the event after one is the one numbered next
pairs as (

    select
        events.process_name,
        events.step_name as from_step,
        next_events.step_name as to_step,
        {{ seconds_between('events.occurred_at', 'next_events.occurred_at') }} as wait_seconds

    from case_events as events
    inner join case_events as next_events
        on events.case_key = next_events.case_key
        and next_events.event_sequence = events.event_sequence + 1

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
