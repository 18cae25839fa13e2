-- One row per write of a tracked field of a business record: each business event of a type
-- that writes an entity, holding the entity's key and the field, writes that field's value.
-- The writing flow run is the run whose trace the event carries (W3C traceparent), preferring
-- its successful, latest attempt; events sent by a system itself carry no run.
with events as (

    select * from {{ ref('stg_flowledger__business_events') }}

),

ownership as (

    select * from {{ ref('int_field_ownership_declared') }}

),

runs as (

    select * from {{ ref('int_flow_runs_enriched') }}
    where trace_id is not null

),

run_per_trace as (

    select
        trace_id,
        run_key,
        run_id,
        flow_id,
        flow_name,
        row_number() over (
            partition by trace_id
            order by case when is_success then 0 else 1 end, run_attempt desc, run_key
        ) as preference

    from runs

),

entity_events as (

    select distinct
        ownership.entity,
        ownership.key_field,
        events.event_id,
        events.event_source,
        events.event_type,
        events.occurred_at,
        events.data_json,
        {{ json_extract_text('events.data_json', 'ownership.key_field') }} as record_key,
        split_part(events.trace_parent, '-', 2) as trace_id

    from events
    -- one row per entity's event types, not per field: the join is not an equality, so every
    -- event is compared with every row (the distinct above gives the same rows either way)
    inner join (select distinct entity, key_field, event_types from ownership) as ownership
        on ownership.event_types is null
        or position(',' || events.event_type || ',' in ownership.event_types) > 0

),

writes as (

    select
        entity_events.entity,
        entity_events.record_key,
        ownership.field_name,
        {{ json_extract_text('entity_events.data_json', 'ownership.field_name') }} as field_value,
        entity_events.event_id,
        entity_events.event_source,
        entity_events.event_type,
        entity_events.occurred_at,
        entity_events.trace_id,
        ownership.system_of_record,
        position(',' || entity_events.event_source || ',' in ownership.allowed_writers) = 0
            as is_ownership_violation

    from entity_events
    inner join ownership
        on entity_events.entity = ownership.entity
    where entity_events.record_key is not null

),

final as (

    select
        writes.entity,
        writes.record_key,
        writes.field_name,
        writes.field_value,
        cast(row_number() over (
            partition by writes.entity, writes.record_key, writes.field_name
            order by writes.occurred_at, writes.event_id, writes.event_source
        ) as bigint) as write_sequence,
        -- the same window (one sort): the number of writes of this record field
        count(*) over (
            partition by writes.entity, writes.record_key, writes.field_name
            order by writes.occurred_at, writes.event_id, writes.event_source
            rows between unbounded preceding and unbounded following
        ) as writes_of_field,
        writes.event_id,
        writes.event_source,
        writes.event_type,
        writes.occurred_at,
        run_per_trace.flow_id,
        run_per_trace.flow_name,
        run_per_trace.run_key,
        run_per_trace.run_id,
        writes.system_of_record,
        writes.is_ownership_violation

    from writes
    left join run_per_trace
        on writes.trace_id = run_per_trace.trace_id
        and run_per_trace.preference = 1
    where writes.field_value is not null

)

select
    entity,
    record_key,
    field_name,
    field_value,
    write_sequence,
    event_id,
    event_source,
    event_type,
    occurred_at,
    flow_id,
    flow_name,
    run_key,
    run_id,
    system_of_record,
    is_ownership_violation,
    write_sequence = writes_of_field as is_current

from final
