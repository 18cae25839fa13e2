{#-
    The columns of fct_cases that depend on the data's as-of time (the newest business event)
    rather than on the case's own events (whether the SLA is met, and when that was decided: a met
    SLA when its `to` step happened, a missed one at its deadline, reached or passed), as a dict of column name -> SQL expression over the
    columns sla_started_at, sla_ended_at, sla_within_seconds, last_event_at, ended_at and
    timeout_seconds, and the expression `as_of`. fct_cases computes them for the cases it builds;
    its post-hook (refresh_case_clock) recomputes them for the cases an incremental build left
    alone, whose idle time grew with the new data. A case whose last event is dated after the
    as-of time (which leaves out implausible future times) has been idle 0 s, not a negative time
    (and without an as-of time, its idle time is unknown: NULL).
-#}
{% macro case_clock(as_of) -%}
    {%- set met = seconds_between('sla_started_at', 'sla_ended_at') ~ " <= sla_within_seconds" -%}
    {%- set overdue = seconds_between('sla_started_at', as_of) ~ " > sla_within_seconds" -%}
    {%- set deadline = "sla_started_at + " ~ interval_of(
        'cast(round(sla_within_seconds * 1000000) as bigint)', 'microsecond') -%}
    {{ return({
        'sla_met': "case when sla_started_at is null then cast(null as boolean)"
            ~ " when sla_ended_at is not null then " ~ met
            ~ " when " ~ overdue ~ " then false end",
        'sla_decided_at': "case when sla_started_at is null then cast(null as timestamp)"
            ~ " when sla_ended_at is not null and " ~ met ~ " then sla_ended_at"
            ~ " when sla_ended_at is not null or " ~ overdue ~ " then " ~ deadline ~ " end",
        'idle_seconds': 'case when ' ~ seconds_between('last_event_at', as_of) ~ ' < 0 then 0 else '
            ~ seconds_between('last_event_at', as_of) ~ ' end',
        'is_stuck': "coalesce(ended_at is null and timeout_seconds is not null and "
            ~ seconds_between('last_event_at', as_of) ~ " > timeout_seconds, false)",
    }) }}
{%- endmacro %}

{#- Post-hook of fct_cases: the clock columns of every case, at the current as-of time. -#}
{% macro refresh_case_clock(relation) -%}
    {%- if target.type != 'spark' -%}
    {%- set clock = case_clock('clock.as_of') -%}
    update {{ relation }} as cases
    set
        {%- for column, expression in clock.items() %}
        {{ column }} = {{ expression }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from
        (
            select max(occurred_at) as as_of
            from {{ ref('stg_flowledger__business_events') }}
            where {{ credible_time('occurred_at') }}
        ) as clock,
        {{ ref('int_processes_configured') }} as processes
    where cases.process_name = processes.process_name
    {%- endif -%}
{%- endmacro %}
