-- One row per process and UTC day: cases started and completed, cycle-time statistics of the
-- cases completed that day, and rework among the cases started that day.
with cases as (

    select * from {{ ref('fct_cases') }}

),

started_by_day as (

    select
        process_name,
        cast(started_at as date) as day,
        count(*) as cases_started,
        sum(case when has_rework then 1 else 0 end) as cases_with_rework

    from cases
    group by process_name, cast(started_at as date)

),

completed_by_day as (

    select
        process_name,
        cast(ended_at as date) as day,
        count(*) as cases_completed,
        {{ exact_avg("cycle_time_seconds") }} as cycle_time_mean_seconds,
        {{ percentile_cont('cycle_time_seconds', 0.5) }} as cycle_time_median_seconds,
        {{ percentile_cont('cycle_time_seconds', 0.95) }} as cycle_time_p95_seconds

    from cases
    where is_complete
    group by process_name, cast(ended_at as date)

),

process_days as (

    select process_name, day from started_by_day
    union
    select process_name, day from completed_by_day

),

final as (

    select
        process_days.process_name,
        process_days.day,
        cast(coalesce(started_by_day.cases_started, 0) as bigint) as cases_started,
        cast(coalesce(completed_by_day.cases_completed, 0) as bigint) as cases_completed,
        cast(completed_by_day.cycle_time_mean_seconds as double) as cycle_time_mean_seconds,
        cast(completed_by_day.cycle_time_median_seconds as double) as cycle_time_median_seconds,
        cast(completed_by_day.cycle_time_p95_seconds as double) as cycle_time_p95_seconds,
        cast(coalesce(started_by_day.cases_with_rework, 0) as bigint) as cases_with_rework,
        {{ safe_ratio('started_by_day.cases_with_rework', 'started_by_day.cases_started') }} as rework_rate

    from process_days
    left join started_by_day
        on process_days.process_name = started_by_day.process_name
        and process_days.day = started_by_day.day
    left join completed_by_day
        on process_days.process_name = completed_by_day.process_name
        and process_days.day = completed_by_day.day

)

select * from final
