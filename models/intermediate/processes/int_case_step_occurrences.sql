-- One row per case and step that occurs in it: how many of the case's events are of the step
-- (more than one: the step was redone, rework of the first kind), and the newest ingest time of
-- those events (last_ingested_at; its newest is the watermark of the incremental build). The
-- per-step marts (effort, rework by activity) add these up instead of grouping every event by case.
-- Incremental (DuckDB): a build recomputes in full the cases that got an event since the newest
-- last_ingested_at here (macros/cases_changed.sql); a case's steps only grow with its events. On
-- Spark the model is a table rebuilt whole.
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

occurrences as (

    select
        case_key,
        process_name,
        step_name,
        cast(count(*) as bigint) as occurrences,
        max(ingested_at) as last_ingested_at

    from case_events
    group by case_key, process_name, step_name

)

select * from occurrences
