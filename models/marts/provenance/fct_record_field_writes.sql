-- One row per write of a tracked field of a business record: value, event, source system,
-- flow and flow run, time, the field's system of record and whether the write broke it.
with writes as (

    select * from {{ ref('int_record_field_writes') }}

),

final as (

    select
        entity,
        record_key,
        field_name,
        field_value,
        cast(write_sequence as bigint) as write_sequence,
        is_current,
        event_id,
        event_source,
        event_type,
        occurred_at,
        flow_id,
        flow_name,
        run_key,
        run_id,
        system_of_record,
        is_ownership_violation

    from writes

)

select * from final
