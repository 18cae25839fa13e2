-- The trace ids carried by more flow run attempts than one end-to-end transaction makes (the var
-- flowledger_trace_max_runs, 1,000 unless set): a traceparent hard-coded into a flow (the W3C
-- example copied into an HTTP node) or a trace id reused across transactions. Such a trace links
-- no case to a run (int_case_flow_runs) and credits no record write to a run
-- (fct_record_field_writes): every case would be linked to every run of it, a quadratic number
-- of links that mean nothing. The build warns while one exists
-- (data-tests/traces_shared_by_too_many_runs.sql).
{%- set max_runs = var('flowledger_trace_max_runs', 1000) %}
{%- if max_runs is not number or max_runs < 1 %}
    {{ exceptions.raise_compiler_error(
        "var flowledger_trace_max_runs must be a whole number of runs, at least 1, got " ~ max_runs
    ) }}
{%- endif %}

with runs as (

    select * from {{ ref('int_flow_runs_enriched') }}

),

final as (

    select
        trace_id,
        count(*) as run_attempts,
        count(distinct flow_id) as flows,
        min(started_at) as first_started_at,
        max(started_at) as last_started_at

    from runs
    where trace_id is not null
    group by trace_id
    having count(*) > {{ max_runs }}

)

select * from final
