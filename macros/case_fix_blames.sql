{#-
    The cases whose fixes int_case_fixes_blamed must blame again: those with an event, or a linked
    flow run (int_case_flow_runs stamps every row of a case it relinks with the newest ingest time
    of the run and of the case), ingested after the newest last_ingested_at of the model (every
    case when it is empty, or was built without the column). A fix and the runs it can blame are
    all the case's own, so no other case can change its rows.

    cases_with_fix_inputs_changed(): SQL query of those case keys (inside is_incremental()).
    delete_fix_blames_of_changed_cases(): pre-hook; the model appends what it recomputes, and
    a recomputed case may have lost a fix (a late event can make a correction no correction) or
    every run it blamed, so its old rows go first. A no-op on a full build and on Spark.
-#}
{% macro cases_with_fix_inputs_changed() -%}
    {%- set built = built_through('last_ingested_at', ['last_ingested_at']) -%}
    select changed_events.case_key
    from {{ ref('int_case_events_mapped') }} as changed_events
    where {{ built }} is null or changed_events.ingested_at > {{ built }}
    union
    select changed_runs.case_key
    from {{ ref('int_case_flow_runs') }} as changed_runs
    where {{ built }} is null or changed_runs.last_ingested_at > {{ built }}
{%- endmacro %}

{% macro delete_fix_blames_of_changed_cases() -%}
    {%- if target.type == 'spark' or not is_incremental() -%}
        select 1
    {%- else -%}
        delete from {{ this }}
        where case_key in ({{ cases_with_fix_inputs_changed() }})
    {%- endif -%}
{%- endmacro %}
