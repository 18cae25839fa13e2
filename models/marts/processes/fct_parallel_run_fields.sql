-- One row per flow, version pair and output field: on how many compared keys either side had it,
-- and on how many its values differed.
with fields as (

    select * from {{ ref('int_parallel_run_fields_compared') }}

),

keys_per_pair as (

    select
        flow_id,
        baseline_version,
        candidate_version,
        count(*) as keys_compared

    from {{ ref('int_parallel_run_pairs') }}
    group by flow_id, baseline_version, candidate_version

),

final as (

    select
        fields.flow_id,
        fields.baseline_version,
        fields.candidate_version,
        fields.field_name,
        cast(count(*) as bigint) as keys_with_field,
        cast(sum(case when fields.is_different then 1 else 0 end) as bigint) as keys_differing,
        {{ safe_ratio('sum(case when fields.is_different then 1 else 0 end)', 'max(keys_per_pair.keys_compared)') }}
            as differing_share_of_keys

    from fields
    inner join keys_per_pair
        on fields.flow_id = keys_per_pair.flow_id
        and fields.baseline_version = keys_per_pair.baseline_version
        and fields.candidate_version = keys_per_pair.candidate_version
    group by fields.flow_id, fields.baseline_version, fields.candidate_version, fields.field_name

)

select * from final
