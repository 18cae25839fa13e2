{#-
    slo_pair_definitions(): the event-pair SLOs of int_slo_definitions, with what decides which
    events are theirs and which case each belongs to (start and end event types, join key, event
    source) and its digest, definition_digest: int_slo_pair_events extracts an SLO's events again
    whole when it changes.

    slo_pair_events_extracted_whole(watermark): whether this build of int_slo_pair_events
    extracts some SLO's events whole (an SLO new or defined otherwise, or no ingest time built):
    asked when the model compiles, so that an incremental build that extracts none leaves out
    the branch that would scan every event (DuckDB scans it even when no SLO joins it).

    delete_slo_pair_events_to_extract_again(built_columns): pre-hook of int_slo_pair_events:
    deletes the rows of SLOs removed or defined otherwise since they were extracted, and every row
    when none has an ingest time (the model then extracts every event again).
-#}
{% macro slo_pair_definitions() -%}
    select
        slo_id,
        start_event,
        end_event,
        join_key,
        event_source,
        md5(concat_ws(
            '|',
            coalesce(start_event, '(none)'),
            coalesce(end_event, '(none)'),
            coalesce(join_key, '(none)'),
            coalesce(event_source, '(none)')
        )) as definition_digest

    from {{ ref('int_slo_definitions') }}
    where indicator = 'event_pair'
{%- endmacro %}

{% macro delete_slo_pair_events_to_extract_again(built_columns) -%}
    {%- if target.type != 'spark' and built_with_columns(built_columns) -%}
        delete from {{ this }}
        where (slo_id, definition_digest) not in (
                select slo_id, definition_digest from ({{ slo_pair_definitions() }}) as pair_slos
            )
            or {{ built_through('ingested_at', built_columns) }} is null
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{% macro slo_pair_events_extracted_whole(watermark) -%}
    {%- if not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set pending = run_query(
        "select count(*) from (" ~ slo_pair_definitions() ~ ") as pair_slos"
        ~ " where " ~ watermark ~ " is null or not exists (select 1 from " ~ this ~ " as built"
        ~ " where built.slo_id = pair_slos.slo_id"
        ~ " and built.definition_digest = pair_slos.definition_digest)"
    ).columns[0].values()[0] -%}
    {{ return(pending > 0) }}
{%- endmacro %}
