-- One row per (process, business event) for the events that belong to a case of a process
-- declared in the process configuration (config/processes.yml, read by the int_process_*
-- configured models): the event's type is listed under the process's `events` (or its source is
-- the process's `event_source`, for imported event logs, the step then being data.<activity_field>)
-- and its data holds the process's case-key field. An event matched by two processes yields one row
-- for each. Ties in time are ordered by event id, then source (imported logs get ids in file order).
-- Incremental (DuckDB): a build maps only the events ingested after the newest ingested_at here
-- and recomputes every case they touch in full (its earlier events are read back from this table,
-- so a late event for an old case renumbers the whole case); --full-refresh maps every event.
-- A changed process configuration needs --full-refresh (flowledger build does it by itself).
-- After `flowledger purge`, a build that maps every event again (--full-refresh, or a changed
-- process configuration) maps the purged events too, read back from this table (an event
-- that matched no process then is gone for good): a case keeps every event it had, so its
-- cycle time, variant and rework, and the process KPIs of the periods kept, stay what they were.
-- Each event also carries the step of the case's next event and the seconds to it (NULL for the
-- case's last event), from the same window as event_sequence: the directly-follows graph then
-- needs no join of every event with its successor.
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    column_compression={
        'event_id': 'uncompressed',
        'data_json': 'uncompressed',
        'trace_id': 'uncompressed',
    },
    unique_key='case_key',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
) }}

{#-
    The newest ingest time mapped so far (NULL on a full build, and when no mapped event has one:
    then every event is mapped again and nothing is read back from this table, whose rows would
    otherwise be kept twice).
-#}
{%- set built = built_through(
    'ingested_at', ['ingested_at', 'next_step_name', 'seconds_to_next_event']
) if is_incremental() else 'cast(null as timestamp)' -%}
{%- set reads_back = is_incremental() and built != 'cast(null as timestamp)' -%}
{#- mapping every event again after a purge: the purged ones are read back from this table -#}
{%- set existing = none if reads_back else built_before_purge(['business_events']) -%}

{#- the cases recomputed: those of the events mapped, and those `flowledger purge` listed (their
    purged events' values become digests, macros/purged_payloads.sql) -#}
{%- set purged_payloads = cases_with_purged_payloads() if reads_back else none -%}
{%- set recomputed_cases = 'case_key in (select case_key from landed)' ~ (
    ' or case_key in (' ~ purged_payloads ~ ')' if purged_payloads else ''
) -%}

{#- the events to map, read by each branch of `matched` (a CTE read twice would be buffered) -#}
{%- set new_events -%}
    select
        event_id,
        event_source,
        event_type,
        occurred_at,
        data_json,
        -- W3C traceparent: version-traceid-spanid-flags; the trace id ties an event to its run
        nullif(split_part(trace_parent, '-', 2), '') as trace_id,
        ingested_at
    from {{ ref('stg_flowledger__business_events') }}
    {% if reads_back %}
    where ingested_at > {{ built }}
    {% endif %}
    {% if existing is not none %}
    union all
    -- purged events (before the newest cut-off, no longer staged), once each, however many
    -- processes they matched (their payloads as digests first: the rows of an event that
    -- two processes map may differ in which values a build replaced, one per process)
    select distinct
        event_id,
        event_source,
        event_type,
        occurred_at,
        {{ erase_purged_payload('data_json', 'occurred_at') }} as data_json,
        trace_id,
        ingested_at
    from {{ existing }} as kept
    where kept.occurred_at < {{ retention_horizon(['business_events']) }}
        and not exists (
            select 1 from {{ ref('stg_flowledger__business_events') }} as staged
            where staged.event_id = kept.event_id
                and staged.event_source = kept.event_source
        )
    {% endif %}
{%- endset %}

with processes as (

    select * from {{ ref('int_processes_configured') }}

),

event_types as (

    select * from {{ ref('int_process_event_types_configured') }}

),

steps as (

    select * from {{ ref('int_process_steps_configured') }}

),

by_type as (

    select
        event_types.process_name,
        processes.case_key_field,
        event_types.step_name,
        events.*

    from ({{ new_events }}) as events
    inner join event_types
        on events.event_type = event_types.event_type
    inner join processes
        on event_types.process_name = processes.process_name

),

by_source as (

    select
        processes.process_name,
        processes.case_key_field,
        {{ json_extract_text('events.data_json', 'processes.activity_field') }} as step_name,
        events.*

    from ({{ new_events }}) as events
    inner join processes
        on events.event_source = processes.event_source

),

matched as (

    select * from by_type
    union all
    select * from by_source

),

mapped as (

    select
        matched.process_name,
        {{ json_extract_text('matched.data_json', 'matched.case_key_field') }} as case_id,
        matched.event_id,
        matched.event_source,
        matched.event_type,
        matched.occurred_at,
        matched.step_name,
        coalesce(steps.is_start, false) as is_start,
        coalesce(steps.is_end, false) as is_end,
        matched.data_json,
        {{ json_extract_text('matched.data_json', "'resource'") }} as resource,
        {{ json_extract_text('matched.data_json', "'lifecycle'") }} as lifecycle,
        matched.trace_id,
        matched.ingested_at

    from matched
    left join steps
        on matched.process_name = steps.process_name
        and matched.step_name = steps.step_name

),

landed as (

    select
        {{ dbt.concat(['process_name', "':'", 'case_id']) }} as case_key,
        process_name,
        case_id,
        event_id,
        event_source,
        event_type,
        occurred_at,
        step_name,
        is_start,
        is_end,
        data_json,
        resource,
        lifecycle,
        trace_id,
        ingested_at

    from mapped
    -- a blank id (`""`, as exports write a missing key) is no case: it would merge unrelated events
    where nullif(trim(case_id), '') is not null
        and step_name is not null
        -- a case key or activity field read only since a purge: no value for the purged events
        and not {{ is_purged_text('case_id') }}
        and not {{ is_purged_text('step_name') }}

),

case_events as (

    select * from landed
    {% if reads_back %}
    union all
    select
        case_key,
        process_name,
        case_id,
        event_id,
        event_source,
        event_type,
        occurred_at,
        step_name,
        is_start,
        is_end,
        data_json,
        resource,
        lifecycle,
        trace_id,
        ingested_at

    from {{ this }}
    where {{ rows_where(this, recomputed_cases) }}
    {% endif %}

),

final as (

    select
        case_key,
        process_name,
        case_id,
        event_id,
        event_source,
        event_type,
        occurred_at,
        step_name,
        is_start,
        is_end,
        cast(row_number() over case_order as bigint) as event_sequence,
        lead(step_name) over case_order as next_step_name,
        {{ seconds_between('occurred_at', 'lead(occurred_at) over case_order') }}
            as seconds_to_next_event,
        {{ erase_purged_payload('data_json', 'occurred_at') }} as data_json,
        resource,
        lifecycle,
        trace_id,
        ingested_at

    from case_events
    window case_order as (
        partition by process_name, case_id
        order by occurred_at, event_id, event_source
    )

)

select * from final
