-- One row per write of a tracked field of a business record: value, event, source system,
-- flow and flow run, time, the field's system of record and whether the write broke it.
-- The writes come from int_record_field_writes; here each is credited with its writing flow run:
-- the run whose trace the event carries (W3C traceparent), preferring its successful, latest
-- attempt; events sent by a system itself carry no run.
-- Incremental (DuckDB): a build recomputes, whole, the records with a write ingested after the
-- newest last_ingested_at here (int_record_field_writes recomputed them: a late write renumbers
-- the record's other writes), the records with a write carried by the trace of a run that got a
-- row since (a late run can become the writing run), and after `flowledger purge` what the purge
-- changed (macros/provenance_purges.sql). On Spark a table rebuilt whole.
{%- set built_columns = ['last_ingested_at'] -%}
{%- set reads_built = built_with_columns(built_columns) -%}
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    unique_key=['entity', 'record_key'],
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    pre_hook=[
        "{{ delete_rows_of_an_older_build(" ~ built_columns ~ ") }}",
        "{{ delete_writes_of_purged_events(ref('stg_flowledger__business_events')) }}",
    ],
) }}

-- depends_on: {{ ref('stg_flowledger__business_events') }}
with all_writes as (

    select * from {{ ref('int_record_field_writes') }}

),

runs as (

    select * from {{ ref('int_flow_runs_enriched') }}
    where trace_id is not null

),

{% if reads_built %}
watermark as (

    select coalesce(max(last_ingested_at), cast('-infinity' as timestamp)) as built_through
    from {{ this }}

),

rerun_traces as (

    -- traces of the runs that got a row (the run or a step) since the last build (read from the
    -- model, not `runs`: a CTE used twice is materialized whole)
    select distinct trace_id
    from {{ ref('int_flow_runs_enriched') }}
    where trace_id is not null
        and last_ingested_at > (select built_through from watermark)

),

changed_records as (

    -- read from the model itself, not `all_writes` (used twice, it would be materialized whole);
    -- a comparison with a scalar subquery lets DuckDB skip the row groups of older writes
    select entity, record_key
    from {{ ref('int_record_field_writes') }}
    where ingested_at > (select built_through from watermark)
    union
    select rerun_writes.entity, rerun_writes.record_key
    from {{ ref('int_record_field_writes') }} as rerun_writes
    inner join rerun_traces
        on rerun_writes.trace_id = rerun_traces.trace_id
    {{ records_changed_by_purges(this, ref('int_flow_runs_enriched')) }}

),

writes as materialized (

    -- the writes of those records: int_record_field_writes is read once for them
    select all_writes.*
    from all_writes
    inner join changed_records
        on all_writes.entity = changed_records.entity
        and all_writes.record_key = changed_records.record_key

),
{% else %}
writes as (

    select * from all_writes

),
{% endif %}

run_per_trace as (

    select
        trace_id,
        run_key,
        run_id,
        flow_id,
        flow_name,
        last_ingested_at,
        row_number() over (
            partition by trace_id
            order by case when is_success then 0 else 1 end, run_attempt desc, run_key
        ) as preference

    from runs
    {% if reads_built %}
    -- the writing run is looked for among the runs of these writes' traces only
    where trace_id in (select trace_id from writes)
    {% endif %}

),

final as (

    select
        writes.entity,
        writes.record_key,
        writes.field_name,
        writes.field_value,
        cast(writes.write_sequence as bigint) as write_sequence,
        writes.is_current,
        writes.event_id,
        writes.event_source,
        writes.event_type,
        writes.occurred_at,
        run_per_trace.flow_id,
        run_per_trace.flow_name,
        run_per_trace.run_key,
        run_per_trace.run_id,
        writes.system_of_record,
        writes.is_ownership_violation,
        -- when ingest last landed the event or a row of its writing run: an incremental build
        -- recomputes what changed after the newest one
        greatest(
            writes.ingested_at, coalesce(run_per_trace.last_ingested_at, writes.ingested_at)
        ) as last_ingested_at

    from writes
    left join run_per_trace
        on writes.trace_id = run_per_trace.trace_id
        and run_per_trace.preference = 1

)

select * from final
