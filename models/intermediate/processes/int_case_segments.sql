-- One row per case and configured segment (config: segments): the first value the case's events
-- give the data field (event order), '(none)' when no event sets it.
with case_events as (

    select * from {{ ref('int_case_events_mapped') }}

),

segments as (

    select * from {{ ref('int_process_segments_configured') }}

),

cases as (

    select distinct case_key, process_name from case_events

),

values_set as (

    select
        case_events.case_key,
        segments.segment_name,
        {{ json_extract_text('case_events.data_json', 'segments.segment_name') }} as segment_value,
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
        coalesce(first_values.segment_value, '(none)') as segment_value

    from cases
    inner join segments
        on cases.process_name = segments.process_name
    left join first_values
        on cases.case_key = first_values.case_key
        and segments.segment_name = first_values.segment_name

)

select * from final
