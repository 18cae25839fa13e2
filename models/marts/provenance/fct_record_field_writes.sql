-- Record provenance: one row per write of a tracked field of a business record. Each business
-- event of a type that writes an entity, holding the entity's key and the field, writes that
-- field's value; each write is numbered in its field's history (is_current marks the latest) and
-- credited with its writing flow run: of the runs whose trace the event carries (W3C
-- traceparent), the one running when the event was written (of nested runs the innermost), else
-- the last one started before it; without run times, the successful, latest attempt. Events sent
-- by a system itself carry no run, nor do events of a trace more runs carry than a transaction
-- makes (int_traces_shared).
-- Incremental (DuckDB): a build recomputes, whole, every record written by an event ingested
-- after the newest last_ingested_at here (its earlier writes are read back from this table, so a
-- late write renumbers write_sequence and moves is_current), every record with a write carried by
-- the trace of a run that got a row since (a late run can become the writing run), and after
-- `flowledger purge` what the purge changed (macros/provenance_purges.sql). A changed
-- fieldOwnership declaration makes `flowledger build` refresh fully. A table built by an older
-- version (without trace_id and ingested_at) is recomputed whole. On Spark a table rebuilt whole.
{#- On DuckDB each event is parsed once for the fields the declaration tracks (the var
    flowledger_field_ownership, as int_field_ownership_declared): json_extract_string with a
    constant list of paths, a fifth of the CPU of parsing the object into a map (10M: 0.65 s
    against 3.2 s). A field the list misses (declared otherwise, as in a unit test) is read by its
    own path. -#}
{%- set declared = var('flowledger_field_ownership', none) or [] -%}
{%- set tracked_fields = (
    (declared | map(attribute='key_field') | list) + (declared | map(attribute='field_name') | list)
) | unique | sort | list -%}
{%- set reads_field_list = target.type == 'duckdb' and tracked_fields | length > 0 -%}
{%- set tracked_names = "['" ~ (tracked_fields | map('replace', "'", "''") | join("', '")) ~ "']" -%}
{%- set tracked_paths = [] -%}
{%- for field in tracked_fields -%}{%- do tracked_paths.append(json_pointer_literal(field) | trim) -%}{%- endfor -%}
{%- set tracked_paths = '[' ~ (tracked_paths | join(', ')) ~ ']' -%}
{%- set built_columns = ['last_ingested_at', 'ingested_at', 'trace_id'] -%}
{%- set reads_built = built_with_columns(built_columns) -%}
{#- Stored for the page that reads it (`flowledger lineage who-wrote`, the lineage page: one
    record's writes by entity and record_key): on DuckDB the rows are written ordered by record,
    so that lookup reads the row groups whose min/max hold the key instead of scanning every
    record key; the columns of (nearly) unique values are zstd, cheaper to write than DuckDB's
    own choice and smaller (measured in bench/results/NOTES.md). -#}
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    column_compression={
        'field_value': 'zstd',
        'event_id': 'zstd',
        'run_key': 'zstd',
        'run_id': 'zstd',
        'trace_id': 'zstd',
    },
    unique_key=['entity', 'record_key'],
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    pre_hook=[
        "{{ delete_rows_of_an_older_build(" ~ built_columns ~ ") }}",
        "{{ delete_rows_of_purged_events(ref('stg_flowledger__business_events')) }}",
    ],
) }}

with all_events as (

    select * from {{ ref('stg_flowledger__business_events') }}

),

ownership as (

    select * from {{ ref('int_field_ownership_declared') }}

),

{% if reads_built %}
watermark as (

    -- an empty table (emptied by delete_rows_of_an_older_build) recomputes every event
    select coalesce(max(last_ingested_at), cast('-infinity' as timestamp)) as built_through
    from {{ this }}

),
{% endif %}

events as (

    select all_events.*
    from all_events
    {% if reads_built %}
    -- a comparison with a scalar subquery: DuckDB skips the row groups of older events
    where all_events.ingested_at > (select built_through from watermark)
    {% endif %}

),

entity_event_types as (

    -- Which event types write which entity. The match is not an equality, so it runs on the few
    -- distinct types; events then join on their type.
    select distinct
        ownership.entity,
        ownership.key_field,
        event_types.event_type

    from (select distinct event_type from events) as event_types
    inner join (select distinct entity, key_field, event_types from ownership) as ownership
        on ownership.event_types is null
        or {{ csv_list_contains('ownership.event_types', 'event_types.event_type') }}

),

entity_events as (

    select
        entity_event_types.entity,
        entity_event_types.key_field,
        events.event_id,
        events.event_source,
        events.event_type,
        events.occurred_at,
        events.data_json,
        -- parsed once: the record key and every tracked field are read from it
        {% if reads_field_list -%}
        json_extract_string(events.data_json, {{ tracked_paths }})
        {%- else -%}
        {{ json_text_fields('events.data_json') }}
        {%- endif %} as data_fields,
        split_part(events.trace_parent, '-', 2) as trace_id,
        events.ingested_at

    from events
    inner join entity_event_types
        on events.event_type = entity_event_types.event_type

),

keyed_events as (

    select
        *,
        {% if reads_field_list -%}
        case
            when list_position({{ tracked_names }}, key_field) is null
                then {{ json_extract_text('data_json', 'key_field') }}
            else data_fields[list_position({{ tracked_names }}, key_field)]
        end
        {%- else -%}
        {{ json_text_field('data_json', 'data_fields', 'key_field') }}
        {%- endif %} as record_key

    from entity_events

),

{% if reads_built %}
rerun_traces as (

    -- traces of the runs that got a row (the run or a step) since the last build
    select distinct trace_id
    from {{ ref('int_flow_runs_enriched') }}
    where trace_id is not null
        and last_ingested_at > (select built_through from watermark)

),

affected_records as (

    select distinct entity, record_key from keyed_events where record_key is not null
    union
    select built.entity, built.record_key
    from {{ this }} as built
    inner join rerun_traces
        on built.trace_id = rerun_traces.trace_id
    {{ records_changed_by_purges(this, ref('int_flow_runs_enriched')) }}

),

built_writes as (

    -- the earlier writes of those records (named columns: their runs are looked for again)
    select
        built.entity,
        built.record_key,
        built.field_name,
        built.field_value,
        built.event_id,
        built.event_source,
        built.event_type,
        built.occurred_at,
        built.system_of_record,
        built.is_ownership_violation,
        built.trace_id,
        built.ingested_at

    from {{ this }} as built
    where {{ rows_where(
        this,
        '(entity, record_key) in (select entity, record_key from affected_records)'
    ) }}

),
{% endif %}

field_writes as (

    select
        keyed_events.entity,
        keyed_events.record_key,
        ownership.field_name,
        {% if reads_field_list -%}
        case
            when list_position({{ tracked_names }}, ownership.field_name) is null
                then {{ json_extract_text('keyed_events.data_json', 'ownership.field_name') }}
            else keyed_events.data_fields[list_position({{ tracked_names }}, ownership.field_name)]
        end
        {%- else -%}
        {{ json_text_field('keyed_events.data_json', 'keyed_events.data_fields', 'ownership.field_name') }}
        {%- endif %}
            as field_value,
        keyed_events.event_id,
        keyed_events.event_source,
        keyed_events.event_type,
        keyed_events.occurred_at,
        ownership.system_of_record,
        -- an item of the list, not a part of it: a source `/acme/psp,/acme/shop` is neither
        not {{ csv_list_contains('ownership.allowed_writers', 'keyed_events.event_source') }}
            as is_ownership_violation,
        keyed_events.trace_id,
        keyed_events.ingested_at

    from keyed_events
    inner join ownership
        on keyed_events.entity = ownership.entity
    where keyed_events.record_key is not null

),

new_writes as (

    select * from field_writes where field_value is not null

),

writes as (

    select * from new_writes
    {% if reads_built %}
    union all
    select * from built_writes
    {% endif %}

),

numbered_writes as (

    select
        entity,
        record_key,
        field_name,
        field_value,
        cast(row_number() over (
            partition by entity, record_key, field_name
            order by occurred_at, event_id, event_source
        ) as bigint) as write_sequence,
        -- the number of writes of this record field: the same partitions, so the same sort (a
        -- frame spelled out over the ordered window made DuckDB build a segment tree for it)
        count(*) over (partition by entity, record_key, field_name) as writes_of_field,
        event_id,
        event_source,
        event_type,
        occurred_at,
        system_of_record,
        is_ownership_violation,
        trace_id,
        ingested_at

    from writes

),

runs as (

    -- a trace carried by more runs than a transaction makes (a hard-coded traceparent,
    -- int_traces_shared) credits no run: every write of it would rank every run of it
    select * from {{ ref('int_flow_runs_enriched') }}
    where trace_id is not null
        and trace_id not in (select trace_id from {{ ref('int_traces_shared') }})

),

write_times as (

    -- the writing run is chosen per trace and time: the writes of one event share both
    select distinct trace_id, occurred_at
    from numbered_writes
    where trace_id is not null

),

run_per_write as (

    select
        write_times.trace_id,
        write_times.occurred_at,
        runs.run_key,
        runs.run_id,
        runs.flow_id,
        runs.flow_name,
        runs.last_ingested_at,
        row_number() over (
            partition by write_times.trace_id, write_times.occurred_at
            order by
                -- the run that was running when the event was written (a failed attempt
                -- wrote what it wrote), else the last one started before it; a run without an
                -- end time is running only while it says so (a failed one's end is unknown)
                case
                    when runs.started_at <= write_times.occurred_at
                        and (
                            write_times.occurred_at <= runs.ended_at
                            or (
                                runs.ended_at is null
                                and runs.status in ('queued', 'running', 'waiting')
                            )
                        )
                        then 0
                    when runs.started_at <= write_times.occurred_at then 1
                    else 2
                end,
                -- of nested runs (a parent and the child it called), the innermost
                case
                    when runs.started_at <= write_times.occurred_at then runs.started_at
                end desc nulls last,
                -- without run times: its successful, latest attempt
                case when runs.is_success then 0 else 1 end,
                runs.run_attempt desc,
                runs.run_key
        ) as preference

    from write_times
    inner join runs
        on write_times.trace_id = runs.trace_id

),

final as (

    select
        numbered_writes.entity,
        numbered_writes.record_key,
        numbered_writes.field_name,
        numbered_writes.field_value,
        numbered_writes.write_sequence,
        numbered_writes.write_sequence = numbered_writes.writes_of_field as is_current,
        numbered_writes.event_id,
        numbered_writes.event_source,
        numbered_writes.event_type,
        numbered_writes.occurred_at,
        run_per_write.flow_id,
        run_per_write.flow_name,
        run_per_write.run_key,
        run_per_write.run_id,
        numbered_writes.system_of_record,
        numbered_writes.is_ownership_violation,
        -- when ingest last landed the event or a row of its writing run: an incremental build
        -- recomputes what changed after the newest one
        greatest(
            numbered_writes.ingested_at,
            coalesce(run_per_write.last_ingested_at, numbered_writes.ingested_at)
        ) as last_ingested_at,
        numbered_writes.trace_id,
        numbered_writes.ingested_at

    from numbered_writes
    left join run_per_write
        on numbered_writes.trace_id = run_per_write.trace_id
        and numbered_writes.occurred_at = run_per_write.occurred_at
        and run_per_write.preference = 1

)

select * from final
{% if target.type == 'duckdb' -%}
order by entity, record_key
{%- endif %}
