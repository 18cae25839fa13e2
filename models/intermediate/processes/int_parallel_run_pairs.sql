-- One row per flow, business key and pair of versions handling it side by side: a live version
-- (baseline) and another version in shadow mode (candidate). Each side's result is its latest run
-- (started, then run key) that produced outputs; when none did, its latest run, without outputs.
-- After `flowledger purge`, a pair one of whose runs was purged (and that the retained runs no
-- longer form) is kept as the last build compared it: a cutover's record of its shadow period,
-- with the texts of its outputs as digests (macros/purged_payloads.sql).
-- (A shadow run arriving later for a key whose baseline run was purged forms no new pair: the
-- kept pair stays with the candidate run it compared.)
{#- The runs are read for each question (which keys have a shadow run, the runs of those keys)
    rather than from one CTE read twice, which DuckDB would buffer with every column (outputs
    included) of every run. #}
{%- set built_before = built_before_purge(['flow_runs']) %}

with shadowed_keys as (

    select distinct
        flow_id,
        business_key

    from {{ ref('stg_flowledger__flow_runs') }}
    where execution_mode = 'shadow'
        and business_key is not null
        and flow_version is not null

),

ranked as (

    select
        runs.run_key,
        runs.flow_id,
        runs.flow_version,
        runs.execution_mode,
        runs.business_key,
        runs.status,
        runs.started_at,
        runs.outputs_json,
        row_number() over (
            partition by runs.flow_id, runs.business_key, runs.flow_version, runs.execution_mode
            order by
                case when runs.outputs_json is not null then 0 else 1 end,
                runs.started_at desc,
                runs.run_key desc
        ) as result_rank

    from {{ ref('stg_flowledger__flow_runs') }} as runs
    inner join shadowed_keys
        on runs.flow_id = shadowed_keys.flow_id
        and runs.business_key = shadowed_keys.business_key
    where runs.flow_version is not null

),

results as (

    select * from ranked where result_rank = 1

),

final as (

    select
        baseline.flow_id,
        baseline.flow_version as baseline_version,
        candidate.flow_version as candidate_version,
        baseline.business_key,
        baseline.run_key as baseline_run_key,
        candidate.run_key as candidate_run_key,
        baseline.status as baseline_status,
        candidate.status as candidate_status,
        baseline.started_at as baseline_started_at,
        candidate.started_at as candidate_started_at,
        baseline.outputs_json as baseline_outputs_json,
        candidate.outputs_json as candidate_outputs_json

    from results as baseline
    inner join results as candidate
        on baseline.flow_id = candidate.flow_id
        and baseline.business_key = candidate.business_key
        and baseline.flow_version <> candidate.flow_version
    where baseline.execution_mode = 'live'
        and candidate.execution_mode = 'shadow'

)

select * from final
{% if built_before is not none %}
union all
select
    kept.flow_id,
    kept.baseline_version,
    kept.candidate_version,
    kept.business_key,
    kept.baseline_run_key,
    kept.candidate_run_key,
    kept.baseline_status,
    kept.candidate_status,
    kept.baseline_started_at,
    kept.candidate_started_at,
    -- the outputs' texts as digests (equal texts stay equal: the comparison is kept)
    {{ erase_purged_outputs('kept.baseline_outputs_json') }} as baseline_outputs_json,
    {{ erase_purged_outputs('kept.candidate_outputs_json') }} as candidate_outputs_json

from {{ built_before }} as kept
where not exists (
        select 1 from final
        where final.flow_id = kept.flow_id
            and final.business_key = kept.business_key
            and final.baseline_version = kept.baseline_version
            and final.candidate_version = kept.candidate_version
    )
    and not (
        exists (
            select 1 from {{ ref('stg_flowledger__flow_runs') }} as retained
            where retained.run_key = kept.baseline_run_key
        )
        and exists (
            select 1 from {{ ref('stg_flowledger__flow_runs') }} as retained
            where retained.run_key = kept.candidate_run_key
        )
    )
{% endif %}
