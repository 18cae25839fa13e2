{#-
    SQL query: the case keys of `case_events` (a relation, or a CTE, of int_case_events_mapped
    rows) that got an event ingested after the newest `watermark_column` of the incremental model
    being built, i.e. the cases its incremental build must recompute in full. Every case when the
    model is empty, or was built by an older version of it without `watermark_column` (the first
    build after an upgrade; `needed_columns`, default `[watermark_column]`, are the columns such a
    table must have). Also the cases `flowledger purge` listed, whose purged events' values
    int_case_events_mapped replaced by digests (macros/purged_payloads.sql). Use inside `{% if is_incremental() %}`. A model that reads the events
    again passes the relation (`ref(...)`) rather than a CTE it reads twice: DuckDB would buffer
    the CTE.
-#}
{% macro cases_changed(case_events, watermark_column='ingested_at', needed_columns=none) -%}
    {%- set built = built_through(watermark_column, needed_columns or [watermark_column]) -%}
    select distinct changed_case_events.case_key
    from {{ case_events }} as changed_case_events
    where changed_case_events.ingested_at > {{ built }}
        or {{ built }} is null
    {%- set purged_payloads = cases_with_purged_payloads() %}
    {%- if purged_payloads %}
    union
    {{ purged_payloads }}
    {%- endif %}
{%- endmacro %}
