{#-
    A pre-hook of int_case_flow_runs and fct_case_flow_runs: on an incremental build, delete the
    links made only by the trace of a run that more runs now share than one transaction makes
    (int_traces_shared). The build recomputes the cases of that trace, but a delete+insert
    replaces only the cases its result holds: a case whose one link was such a trace would keep
    it. A link also made by business key stays (and is recomputed as one).
-#}
{% macro delete_links_of_shared_traces() -%}
    {%- if target.type != 'spark' and is_incremental() -%}
        delete from {{ this }}
        where linked_by = 'trace_id'
            and run_key in (
                select run_key from {{ ref('int_flow_runs_enriched') }}
                where trace_id in (select trace_id from {{ ref('int_traces_shared') }})
            )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
