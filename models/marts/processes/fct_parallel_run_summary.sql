-- One row per flow and version pair run side by side: keys compared, keys whose outputs differ,
-- the mismatch rate a cutover is gated on, and the differing fields with their counts.
with comparison as (

    select * from {{ ref('fct_parallel_run_comparison') }}

),

fields as (

    select * from {{ ref('fct_parallel_run_fields') }}

),

per_pair as (

    select
        flow_id,
        baseline_version,
        candidate_version,
        count(*) as keys_compared,
        sum(case when is_mismatch then 1 else 0 end) as keys_mismatched,
        sum(case when baseline_has_outputs then 0 else 1 end) as keys_without_baseline_outputs,
        sum(case when candidate_has_outputs then 0 else 1 end) as keys_without_candidate_outputs,
        min(candidate_started_at) as first_candidate_run_at,
        max(candidate_started_at) as last_candidate_run_at

    from comparison
    group by flow_id, baseline_version, candidate_version

),

field_counts as (

    select
        flow_id,
        baseline_version,
        candidate_version,
        {{ string_agg_ordered(
            "field_name || ': ' || cast(keys_differing as string)", "', '",
            ['keys_differing desc', 'field_name']
        ) }} as differing_fields

    from fields
    where keys_differing > 0
    group by flow_id, baseline_version, candidate_version

),

final as (

    select
        per_pair.flow_id,
        per_pair.baseline_version,
        per_pair.candidate_version,
        cast(per_pair.keys_compared as bigint) as keys_compared,
        cast(per_pair.keys_mismatched as bigint) as keys_mismatched,
        {{ safe_ratio('per_pair.keys_mismatched', 'per_pair.keys_compared') }} as mismatch_rate,
        cast(per_pair.keys_without_baseline_outputs as bigint) as keys_without_baseline_outputs,
        cast(per_pair.keys_without_candidate_outputs as bigint) as keys_without_candidate_outputs,
        field_counts.differing_fields,
        per_pair.first_candidate_run_at,
        per_pair.last_candidate_run_at

    from per_pair
    left join field_counts
        on per_pair.flow_id = field_counts.flow_id
        and per_pair.baseline_version = field_counts.baseline_version
        and per_pair.candidate_version = field_counts.candidate_version

)

select * from final
