-- One row per case event, in order, for the case timeline: what happened, where (source, trace),
-- who (resource) and which data fields it set or changed (JSON list of {field, from, to}).
-- Incremental (DuckDB): a build recomputes in full the cases that got an event since the newest
-- ingested_at here (macros/cases_changed.sql).
-- The field changes' JSON and the trace ids are stored with zstd, the event ids uncompressed:
-- faster to write than DuckDB's own choice (macros/column_compression.sql).
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    unique_key='case_key',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    column_compression={'field_changes': 'zstd', 'trace_id': 'zstd', 'event_id': 'uncompressed'},
) }}

with case_events as (

    select * from {{ ref('int_case_events_mapped') }}
    {% if is_incremental() %}
    -- every case when the table predates next_step_name (the first build after an upgrade)
    where case_key in ({{ cases_changed(
        ref('int_case_events_mapped'), 'ingested_at',
        ['ingested_at', 'next_step_name', 'seconds_to_next_event']
    ) }})
    {% endif %}

),

field_changes as (

    select * from {{ ref('int_case_field_changes') }}
    {% if is_incremental() %}
    where {{ rows_where(ref('int_case_field_changes'), 'case_key in (select case_key from case_events)') }}
    {% endif %}

),

changes as (

    select
        case_key,
        event_id,
        {{ json_array_agg_ordered([
            ('field', 'field_name'), ('from', 'previous_value'), ('to', 'field_value'),
            ('is_correction', 'is_correction')
        ], ['field_name']) }} as field_changes,
        bool_or(is_correction) as has_correction

    from field_changes
    where previous_value is null or {{ values_differ('previous_value', 'field_value') }}
    group by case_key, event_id

),

final as (

    select
        case_events.case_key,
        case_events.process_name,
        case_events.case_id,
        case_events.event_sequence,
        case_events.event_id,
        case_events.event_source,
        case_events.event_type,
        case_events.occurred_at,
        case_events.step_name,
        case_events.resource,
        case_events.lifecycle,
        case_events.trace_id,
        cast(changes.field_changes as string) as field_changes,
        coalesce(changes.has_correction, false) as has_correction,
        case_events.ingested_at,
        -- the directly-follows pair this event starts (the process page counts the pairs of a
        -- date range from these, without a window over the case events)
        case_events.next_step_name,
        case_events.seconds_to_next_event

    from case_events
    left join changes
        on case_events.case_key = changes.case_key
        and case_events.event_id = changes.event_id

)

select * from final
