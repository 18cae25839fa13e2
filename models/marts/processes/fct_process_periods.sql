-- One row per process, period grain (day or ISO week starting Monday), period start and segment
-- (segment_name 'all' / segment_value 'all' for the whole process): cases started, completed
-- (throughput), cycle time count / mean / median / p95 of the cases completed in the period
-- (continuous quantiles), SLA attainment of the cases whose SLA was decided in it, and rework
-- and first-pass rates of the cases started in it.
with cases as (

    select * from {{ ref('fct_cases') }}

),

segments as (

    select * from {{ ref('int_case_segments') }}

),

sliced as (

    select cases.*, 'all' as segment_name, 'all' as segment_value from cases
    union all
    select cases.*, segments.segment_name, segments.segment_value
    from cases
    inner join segments
        on cases.case_key = segments.case_key

),

grains as (

    select 'day' as period_grain
    union all
    select 'week' as period_grain

),

dated as (

    select
        sliced.*,
        grains.period_grain,
        case when grains.period_grain = 'day' then cast(started_at as date)
            else cast(date_trunc('week', started_at) as date) end as started_period,
        case when grains.period_grain = 'day' then cast(ended_at as date)
            else cast(date_trunc('week', ended_at) as date) end as ended_period,
        case when grains.period_grain = 'day' then cast(sla_decided_at as date)
            else cast(date_trunc('week', sla_decided_at) as date) end as sla_period

    from sliced
    cross join grains

),

started as (

    select
        process_name, period_grain, started_period as period_start, segment_name, segment_value,
        count(*) as cases_started,
        sum(case when has_rework then 1 else 0 end) as cases_with_repeated_step,
        sum(case when has_field_correction then 1 else 0 end) as cases_with_field_correction,
        sum(case when has_gray_failure then 1 else 0 end) as cases_with_gray_failure,
        sum(case when is_first_pass then 1 else 0 end) as cases_first_pass

    from dated
    group by all

),

completed as (

    select
        process_name, period_grain, ended_period as period_start, segment_name, segment_value,
        count(*) as cases_completed,
        {{ exact_avg("cycle_time_seconds") }} as cycle_time_mean_seconds,
        {{ percentile_cont('cycle_time_seconds', 0.5) }} as cycle_time_median_seconds,
        {{ percentile_cont('cycle_time_seconds', 0.95) }} as cycle_time_p95_seconds

    from dated
    where is_complete
    group by all

),

sla as (

    select
        process_name, period_grain, sla_period as period_start, segment_name, segment_value,
        count(*) as sla_cases,
        sum(case when sla_met then 1 else 0 end) as sla_met_cases

    from dated
    where sla_met is not null
    group by all

),

keys as (

    select process_name, period_grain, period_start, segment_name, segment_value from started
    union
    select process_name, period_grain, period_start, segment_name, segment_value from completed
    union
    select process_name, period_grain, period_start, segment_name, segment_value from sla

),

final as (

    select
        keys.process_name,
        keys.period_grain,
        keys.period_start,
        keys.segment_name,
        keys.segment_value,
        cast(coalesce(started.cases_started, 0) as bigint) as cases_started,
        cast(coalesce(completed.cases_completed, 0) as bigint) as cases_completed,
        completed.cycle_time_mean_seconds,
        completed.cycle_time_median_seconds,
        completed.cycle_time_p95_seconds,
        cast(coalesce(sla.sla_cases, 0) as bigint) as sla_cases,
        cast(coalesce(sla.sla_met_cases, 0) as bigint) as sla_met_cases,
        {{ safe_ratio('sla.sla_met_cases', 'sla.sla_cases') }} as sla_attainment,
        {{ safe_ratio('started.cases_with_repeated_step', 'started.cases_started') }} as repeated_step_rate,
        {{ safe_ratio('started.cases_with_field_correction', 'started.cases_started') }} as field_correction_rate,
        {{ safe_ratio('started.cases_with_gray_failure', 'started.cases_started') }} as gray_failure_rate,
        {{ safe_ratio('started.cases_first_pass', 'started.cases_started') }} as first_pass_yield

    from keys
    left join started using (process_name, period_grain, period_start, segment_name, segment_value)
    left join completed using (process_name, period_grain, period_start, segment_name, segment_value)
    left join sla using (process_name, period_grain, period_start, segment_name, segment_value)
    where keys.period_start is not null

)

select * from final
