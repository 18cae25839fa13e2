-- One row per write of a tracked field of a business record: value, event, source system,
-- flow and flow run, time, the field's system of record and whether the write broke it.
-- Incremental (DuckDB): a build copies again, whole, the records of int_record_field_writes with
-- a write whose last_ingested_at is newer than the newest one here (the records that model
-- recomputed: a late write renumbers the record's other writes), and after `flowledger purge`
-- what the purge changed (macros/provenance_purges.sql). On Spark a table rebuilt whole.
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

-- depends_on: {{ ref('int_flow_runs_enriched') }}, {{ ref('stg_flowledger__business_events') }}
with writes as (

    select * from {{ ref('int_record_field_writes') }}

),

{% if reads_built %}
changed_records as (

    -- read from the model itself, not `writes`: a CTE used twice is materialized whole, and
    -- a comparison with a scalar subquery lets DuckDB skip the row groups of older writes
    select distinct entity, record_key
    from {{ ref('int_record_field_writes') }}
    where last_ingested_at > (
        select coalesce(max(last_ingested_at), cast('-infinity' as timestamp)) from {{ this }}
    )
    {{ records_changed_by_purges(this, ref('int_flow_runs_enriched')) }}

),
{% endif %}

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
        writes.flow_id,
        writes.flow_name,
        writes.run_key,
        writes.run_id,
        writes.system_of_record,
        writes.is_ownership_violation,
        writes.last_ingested_at

    from writes
    {% if reads_built %}
    inner join changed_records
        on writes.entity = changed_records.entity
        and writes.record_key = changed_records.record_key
    {% endif %}

)

select * from final
