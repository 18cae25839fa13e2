-- One row per compared pair of runs (int_parallel_run_pairs) and output field either side has:
-- both values (JSON text) and whether they differ. Numbers compare as numbers (85 = 85.0), two
-- integers by every digit; other
-- values by their JSON text; a field only one side has differs (a side without outputs has none).
with pairs as (

    select * from {{ ref('int_parallel_run_pairs') }}

),

field_names as (

    select
        flow_id,
        baseline_version,
        candidate_version,
        business_key,
        {{ json_field_names('baseline_outputs_json') }} as field_name

    from pairs
    where baseline_outputs_json is not null

    union

    select
        flow_id,
        baseline_version,
        candidate_version,
        business_key,
        {{ json_field_names('candidate_outputs_json') }} as field_name

    from pairs
    where candidate_outputs_json is not null

),

valued as (

    select
        field_names.flow_id,
        field_names.baseline_version,
        field_names.candidate_version,
        field_names.business_key,
        field_names.field_name,
        {{ json_field_json('pairs.baseline_outputs_json', 'field_names.field_name') }}
            as baseline_value,
        {{ json_field_json('pairs.candidate_outputs_json', 'field_names.field_name') }}
            as candidate_value

    from field_names
    inner join pairs
        on field_names.flow_id = pairs.flow_id
        and field_names.baseline_version = pairs.baseline_version
        and field_names.candidate_version = pairs.candidate_version
        and field_names.business_key = pairs.business_key

),

final as (

    select
        flow_id,
        baseline_version,
        candidate_version,
        business_key,
        field_name,
        baseline_value,
        candidate_value,
        case
            when baseline_value is null or candidate_value is null then true
            -- integers by every digit (as doubles, 123456789012345678901234567890 = …891)
            when {{ json_text_is_integer('baseline_value') }}
                and {{ json_text_is_integer('candidate_value') }}
                then baseline_value <> candidate_value
            when {{ json_text_is_number('baseline_value') }}
                and {{ json_text_is_number('candidate_value') }}
                then cast(baseline_value as double) <> cast(candidate_value as double)
            else baseline_value <> candidate_value
        end as is_different

    from valued

)

select * from final
