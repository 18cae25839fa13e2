-- One row per flow, version pair (live baseline, shadow candidate) and business key handled by
-- both: the runs compared, the fields compared and those that differ.
with pairs as (

    select * from {{ ref('int_parallel_run_pairs') }}

),

fields as (

    select * from {{ ref('int_parallel_run_fields_compared') }}

),

per_key as (

    select
        flow_id,
        baseline_version,
        candidate_version,
        business_key,
        count(*) as fields_compared,
        sum(case when is_different then 1 else 0 end) as fields_differing,
        {{ string_agg_ordered('case when is_different then field_name end', "', '", ['field_name']) }}
            as differing_fields

    from fields
    group by flow_id, baseline_version, candidate_version, business_key

),

final as (

    select
        pairs.flow_id,
        pairs.baseline_version,
        pairs.candidate_version,
        pairs.business_key,
        pairs.baseline_run_key,
        pairs.candidate_run_key,
        pairs.baseline_status,
        pairs.candidate_status,
        pairs.baseline_started_at,
        pairs.candidate_started_at,
        pairs.baseline_outputs_json is not null as baseline_has_outputs,
        pairs.candidate_outputs_json is not null as candidate_has_outputs,
        cast(coalesce(per_key.fields_compared, 0) as bigint) as fields_compared,
        cast(coalesce(per_key.fields_differing, 0) as bigint) as fields_differing,
        per_key.differing_fields,
        coalesce(per_key.fields_differing, 0) > 0 as is_mismatch

    from pairs
    left join per_key
        on pairs.flow_id = per_key.flow_id
        and pairs.baseline_version = per_key.baseline_version
        and pairs.candidate_version = per_key.candidate_version
        and pairs.business_key = per_key.business_key

)

select * from final
