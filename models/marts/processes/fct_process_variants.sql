-- One row per process and variant (the case's path): cases, share of the process's cases, and the
-- cycle time and duration of its cases; variant_rank 1 is the most frequent (ties: variant text).
with cases as (

    select * from {{ ref('fct_cases') }}

),

per_variant as (

    select
        process_name,
        variant,
        count(*) as cases,
        sum(case when is_complete then 1 else 0 end) as cases_completed,
        {{ exact_avg("cycle_time_seconds") }} as cycle_time_mean_seconds,
        {{ percentile_cont('cycle_time_seconds', 0.5) }} as cycle_time_median_seconds,
        {{ exact_avg("duration_seconds") }} as duration_mean_seconds,
        {{ percentile_cont('duration_seconds', 0.5) }} as duration_median_seconds,
        min(event_count) as event_count

    from cases
    group by process_name, variant

),

final as (

    select
        process_name,
        cast(row_number() over (partition by process_name order by cases desc, variant) as bigint)
            as variant_rank,
        variant,
        cast(cases as bigint) as cases,
        cases / sum(cases) over (partition by process_name) as share_of_cases,
        cast(cases_completed as bigint) as cases_completed,
        cycle_time_mean_seconds,
        cycle_time_median_seconds,
        duration_mean_seconds,
        duration_median_seconds,
        cast(event_count as bigint) as event_count

    from per_variant

)

select * from final
