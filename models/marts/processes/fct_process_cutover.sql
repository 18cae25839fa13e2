{#- Two-sided p-value of a standard normal statistic z: 2 * (1 - Phi(|z|)), with Phi from
    Abramowitz & Stegun 26.2.17 (absolute error below 7.5e-8). -#}
{%- set p_two_sided -%}
    2.0 * exp(-0.5 * abs(Z) * abs(Z)) / sqrt(2.0 * pi()) * (
        0.319381530 * (1.0 / (1.0 + 0.2316419 * abs(Z)))
        - 0.356563782 * pow(1.0 / (1.0 + 0.2316419 * abs(Z)), 2)
        + 1.781477937 * pow(1.0 / (1.0 + 0.2316419 * abs(Z)), 3)
        - 1.821255978 * pow(1.0 / (1.0 + 0.2316419 * abs(Z)), 4)
        + 1.330274429 * pow(1.0 / (1.0 + 0.2316419 * abs(Z)), 5)
    )
{%- endset -%}
-- One row per process, flow and flow version that handled cases of the process: the cases it
-- handled (a case belongs to the version of the flow's first run on it), their cycle time, the
-- failure rate of the version's runs on the process's cases, and the rework rate (cases not first
-- pass); compared with the flow's previous version (by first run): the differences, a Welch
-- z-test on the mean cycle time and two-proportion z-tests on the rates (two-sided p-values;
-- normal approximation, fine from about 30 cases per side).
with case_runs as (

    select * from {{ ref('int_case_flow_runs') }} where flow_version is not null

),

cases as (

    select * from {{ ref('fct_cases') }}

),

first_runs as (

    select
        case_key,
        process_name,
        flow_id,
        min_by(flow_version, started_at) as flow_version

    from case_runs
    group by case_key, process_name, flow_id

),

version_cases as (

    select
        first_runs.process_name,
        first_runs.flow_id,
        first_runs.flow_version,
        count(*) as cases,
        sum(case when cases.is_first_pass then 0 else 1 end) as cases_with_rework,
        count(cases.cycle_time_seconds) as cases_completed,
        {{ exact_avg('cases.cycle_time_seconds') }} as cycle_time_mean_seconds,
        -- sample variance from exact decimal sums (a rebuild gives the same bits)
        (
            cast(sum(cast(cases.cycle_time_seconds as decimal(38, 3)) * cast(cases.cycle_time_seconds as decimal(38, 3))) as double)
            - cast(sum(cast(cases.cycle_time_seconds as decimal(38, 6))) as double)
                * cast(sum(cast(cases.cycle_time_seconds as decimal(38, 6))) as double)
                / nullif(count(cases.cycle_time_seconds), 0)
        ) / nullif(count(cases.cycle_time_seconds) - 1, 0) as cycle_time_variance

    from first_runs
    inner join cases
        on first_runs.case_key = cases.case_key
    group by first_runs.process_name, first_runs.flow_id, first_runs.flow_version

),

version_runs as (

    select
        process_name,
        flow_id,
        flow_version,
        min(started_at) as first_run_at,
        count(*) as runs,
        sum(case when is_failed then 1 else 0 end) as failed_runs

    from case_runs
    group by process_name, flow_id, flow_version

),

versions as (

    select
        version_runs.*,
        coalesce(version_cases.cases, 0) as cases,
        coalesce(version_cases.cases_with_rework, 0) as cases_with_rework,
        coalesce(version_cases.cases_completed, 0) as cases_completed,
        version_cases.cycle_time_mean_seconds,
        version_cases.cycle_time_variance,
        failed_runs / runs as failure_rate,
        {{ safe_ratio('version_cases.cases_with_rework', 'version_cases.cases') }} as rework_rate

    from version_runs
    left join version_cases
        using (process_name, flow_id, flow_version)

),

compared as (

    select
        *,
        lag(flow_version) over w as previous_version,
        cycle_time_mean_seconds - lag(cycle_time_mean_seconds) over w as cycle_time_mean_difference_seconds,
        failure_rate - lag(failure_rate) over w as failure_rate_difference,
        rework_rate - lag(rework_rate) over w as rework_rate_difference,
        (cycle_time_mean_seconds - lag(cycle_time_mean_seconds) over w) / nullif(sqrt(
            cycle_time_variance / nullif(cases_completed, 0)
            + lag(cycle_time_variance) over w / nullif(lag(cases_completed) over w, 0)
        ), 0) as cycle_time_z,
        (failure_rate - lag(failure_rate) over w) / nullif(sqrt(
            ((failed_runs + lag(failed_runs) over w) / (runs + lag(runs) over w))
            * (1 - (failed_runs + lag(failed_runs) over w) / (runs + lag(runs) over w))
            * (1.0 / runs + 1.0 / lag(runs) over w)
        ), 0) as failure_rate_z,
        (rework_rate - lag(rework_rate) over w) / nullif(sqrt(
            ((cases_with_rework + lag(cases_with_rework) over w) / (cases + lag(cases) over w))
            * (1 - (cases_with_rework + lag(cases_with_rework) over w) / (cases + lag(cases) over w))
            * (1.0 / nullif(cases, 0) + 1.0 / nullif(lag(cases) over w, 0))
        ), 0) as rework_rate_z

    from versions
    window w as (partition by process_name, flow_id order by first_run_at, flow_version)

),

final as (

    select
        process_name,
        flow_id,
        flow_version,
        first_run_at,
        previous_version,
        cast(cases as bigint) as cases,
        cast(cases_completed as bigint) as cases_completed,
        cycle_time_mean_seconds,
        cast(runs as bigint) as runs,
        cast(failed_runs as bigint) as failed_runs,
        failure_rate,
        rework_rate,
        cycle_time_mean_difference_seconds,
        failure_rate_difference,
        rework_rate_difference,
        cycle_time_z,
        {{ p_two_sided | replace('Z', 'cycle_time_z') }} as cycle_time_p_value,
        failure_rate_z,
        {{ p_two_sided | replace('Z', 'failure_rate_z') }} as failure_rate_p_value,
        rework_rate_z,
        {{ p_two_sided | replace('Z', 'rework_rate_z') }} as rework_rate_p_value

    from compared

)

select * from final
