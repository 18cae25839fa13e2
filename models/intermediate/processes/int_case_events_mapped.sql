-- One row per (process, business event) for the events that belong to a case of a process:
-- the event's type is listed in the process_event_types seed and its data holds the process's
-- case-key field. An event type listed by two processes yields one row for each.
with events as (

    select * from {{ ref('stg_flowledger__business_events') }}

),

process_event_types as (

    select * from {{ ref('process_event_types') }}

),

mapped as (

    select
        process_event_types.process_name,
        {{ json_extract_text('events.data_json', 'process_event_types.case_key_field') }} as case_id,
        events.event_id,
        events.event_source,
        events.event_type,
        events.occurred_at,
        process_event_types.step_name,
        process_event_types.is_start,
        process_event_types.is_end

    from events
    inner join process_event_types
        on events.event_type = process_event_types.event_type

),

final as (

    select
        {{ dbt.concat(['process_name', "':'", 'case_id']) }} as case_key,
        process_name,
        case_id,
        event_id,
        event_source,
        event_type,
        occurred_at,
        step_name,
        is_start,
        is_end,
        row_number() over (
            partition by process_name, case_id
            order by occurred_at, event_id, event_source
        ) as event_sequence

    from mapped
    where case_id is not null

)

select * from final
