-- One row per case event and top-level data field the event sets (JSON null counts as not set):
-- its value (JSON text), the value the case had before, and whether this is a correction: the
-- field already had a different value earlier in the case. Only the process's correction_fields
-- are considered when configured, else every field except the case key (and, for event logs, the
-- activity, resource and lifecycle fields). correction_fields: [] (an imported event log's
-- default) lists those fields' values as they change but counts no correction. A purged event's
-- values are digests, equal to the digest of an equal value (macros/purged_payloads.sql).
-- Incremental (DuckDB): a build recomputes in full the cases that got an event since the newest
-- ingested_at here (macros/cases_changed.sql).
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    column_compression={'event_id': 'uncompressed'},
    unique_key='case_key',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
) }}

with case_events as (

    select * from {{ ref('int_case_events_mapped') }}
    {% if is_incremental() %}
    where case_key in ({{ cases_changed(ref('int_case_events_mapped')) }})
    {% endif %}

),

processes as (

    select * from {{ ref('int_processes_configured') }}

),

fields_set as (

    select
        case_events.case_key,
        case_events.process_name,
        case_events.event_id,
        case_events.event_sequence,
        case_events.occurred_at,
        case_events.step_name,
        case_events.data_json,
        case_events.ingested_at,
        {{ json_field_names('case_events.data_json') }} as field_name,
        processes.correction_fields,
        processes.ignored_fields

    from case_events
    inner join processes
        on case_events.process_name = processes.process_name

),

valued as (

    select
        case_key,
        process_name,
        event_id,
        event_sequence,
        occurred_at,
        step_name,
        field_name,
        {{ json_field_json('data_json', 'field_name') }} as field_value,
        correction_fields is null
            or {{ csv_list_contains('correction_fields', 'field_name') }} as can_be_corrected,
        ingested_at

    from fields_set
    where (
            coalesce(correction_fields, '') = ''
            and not {{ csv_list_contains('ignored_fields', 'field_name') }}
        )
        or {{ csv_list_contains("coalesce(correction_fields, '')", 'field_name') }}

),

sequenced as (

    select
        *,
        lag(field_value) over (
            partition by case_key, field_name order by event_sequence
        ) as previous_value

    from valued
    where field_value <> 'null'  -- false for NULL too (a field the event does not set)

),

final as (

    select
        case_key,
        process_name,
        field_name,
        event_id,
        event_sequence,
        occurred_at,
        step_name,
        field_value,
        previous_value,
        can_be_corrected
            and coalesce({{ values_differ('previous_value', 'field_value') }}, false)
            as is_correction,
        ingested_at

    from sequenced

)

select * from final
