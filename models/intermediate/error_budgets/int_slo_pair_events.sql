-- One row per event-pair SLO and business event that is one of its start or end events, with the
-- value of the SLO's join key in the event's data (the case the event belongs to). A start event
-- is of the SLO's start type (and of its event_source, when the SLO names one); an end event is
-- of its end type. Events without the key are left out: they belong to no case.
-- int_slo_events reads the start and end events of the cases it recomputes from here by
-- (slo_id, case_key), instead of extracting the join key from every start and end event again.
-- Incremental (DuckDB, append): a build extracts the key from the events landed since the newest
-- ingested_at here only. An SLO whose type, key or source changed (definition_digest) or that is
-- new is extracted whole; the pre-hook deletes the rows of changed and removed SLOs and, after
-- `flowledger purge`, the rows of the purged events. On Spark a table rebuilt whole.
{%- set built_columns = ['definition_digest', 'ingested_at'] -%}
{%- set reads_built = built_with_columns(built_columns) -%}
{%- set watermark = built_through('ingested_at', built_columns) if reads_built else 'cast(null as timestamp)' -%}
{%- set extracts_whole = reads_built and slo_pair_events_extracted_whole(watermark) -%}
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    pre_hook=[
        "{{ delete_rows_of_an_older_build(" ~ built_columns ~ ") }}",
        "{{ delete_slo_pair_events_to_extract_again(" ~ built_columns ~ ") }}",
        "{{ delete_rows_of_purged_events(ref('stg_flowledger__business_events')) }}",
    ],
) }}

with pair_slos as (

    {{ slo_pair_definitions() }}

),

{% if extracts_whole %}
-- SLOs whose events here were extracted with their current definition: only their events landed
-- since are read (the others, new or changed, whole; their old rows the pre-hook deleted)
extracted_slos as (

    select distinct built.slo_id
    from {{ this }} as built
    inner join pair_slos
        on built.slo_id = pair_slos.slo_id
        and built.definition_digest = pair_slos.definition_digest
    where {{ watermark }} is not null

),
{% endif %}

events as (

    select * from {{ ref('stg_flowledger__business_events') }}
    {% if reads_built %}
    where {{ watermark }} is null or ingested_at > {{ watermark }}
    {% endif %}

),

{% if extracts_whole %}
-- (not an `or` in the filter above: DuckDB would no longer skip, by the watermark alone, the
-- row groups landed before it)
events_of_slos_extracted_whole as (

    select * from {{ ref('stg_flowledger__business_events') }}
    where {{ watermark }} is not null
        and not coalesce(ingested_at > {{ watermark }}, false)

),
{% endif %}

matched as (

    select pair_slos.slo_id, events.*
    from pair_slos
    inner join events
        on events.event_type in (pair_slos.start_event, pair_slos.end_event)
    {% if extracts_whole %}
    union all
    select pair_slos.slo_id, events.*
    from pair_slos
    inner join events_of_slos_extracted_whole as events
        on events.event_type in (pair_slos.start_event, pair_slos.end_event)
    where pair_slos.slo_id not in (select slo_id from extracted_slos)
    {% endif %}

),

keyed as (

    select
        matched.slo_id,
        pair_slos.definition_digest,
        matched.event_source,
        matched.event_id,
        matched.event_type = pair_slos.start_event
            and (pair_slos.event_source is null or matched.event_source = pair_slos.event_source)
            as is_start,
        matched.event_type = pair_slos.end_event as is_end,
        matched.occurred_at,
        {{ json_extract_text('matched.data_json', 'pair_slos.join_key') }} as case_key,
        matched.ingested_at

    from matched
    inner join pair_slos
        on matched.slo_id = pair_slos.slo_id

),

final as (

    select
        slo_id,
        case_key,
        is_start,
        is_end,
        occurred_at,
        event_source,
        event_id,
        ingested_at,
        definition_digest

    from keyed
    where case_key is not null
        and (is_start or is_end)

)

select * from final
