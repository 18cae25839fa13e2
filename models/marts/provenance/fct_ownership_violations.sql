-- One row per write of a field by a source that is neither its system of record nor allowed
-- to write it (contracts/business_event.odcs.yaml, fieldOwnership).
with writes as (

    select * from {{ ref('fct_record_field_writes') }}

),

final as (

    select
        entity,
        record_key,
        field_name,
        field_value,
        event_source as written_by,
        system_of_record,
        event_id,
        event_type,
        occurred_at,
        flow_id,
        flow_name,
        run_key,
        run_id

    from writes
    where is_ownership_violation

)

select * from final
