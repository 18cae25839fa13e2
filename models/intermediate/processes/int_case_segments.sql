-- One row per case and configured segment (config: segments): the first value the case's events
-- give the data field (event order), '(none)' when no event sets it.
-- Incremental (DuckDB): a build recomputes in full the cases that got an event since the newest
-- last_ingested_at here (macros/cases_changed.sql); a changed process configuration needs
-- --full-refresh (flowledger build does it by itself). On Spark the model is a table rebuilt whole.
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    unique_key='case_key',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
) }}

with case_events as (

    select * from {{ ref('int_case_events_mapped') }}
    {% if is_incremental() %}
    where case_key in ({{ cases_changed(ref('int_case_events_mapped'), 'last_ingested_at') }})
    {% endif %}

),

segments as (

    select * from {{ ref('int_process_segments_configured') }}

),

cases as (

    select
        case_key,
        process_name,
        max(ingested_at) as last_ingested_at

    from case_events
    group by case_key, process_name

),

values_set as (

    select
        case_events.case_key,
        segments.segment_name,
        -- a segment configured since a purge has no value for the purged events
        case
            when {{ is_purged_text(json_extract_text('case_events.data_json', 'segments.segment_name')) }}
                then '(purged)'
            else {{ json_extract_text('case_events.data_json', 'segments.segment_name') }}
        end as segment_value,
        case_events.event_sequence

    from case_events
    inner join segments
        on case_events.process_name = segments.process_name

),

first_values as (

    select
        case_key,
        segment_name,
        min_by(segment_value, event_sequence) as segment_value

    from values_set
    where segment_value is not null
    group by case_key, segment_name

),

final as (

    select
        cases.case_key,
        cases.process_name,
        segments.segment_name,
        coalesce(first_values.segment_value, '(none)') as segment_value,
        -- the newest ingest time of the case's events: the watermark of the incremental build
        cases.last_ingested_at

    from cases
    inner join segments
        on cases.process_name = segments.process_name
    left join first_values
        on cases.case_key = first_values.case_key
        and segments.segment_name = first_values.segment_name

)

select * from final
