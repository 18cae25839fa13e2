{#-
    Spark only: register the raw tables over the Parquet files ingest lands
    (<landing dir>/<table>/*.parquet), with the column types of the source definitions
    (models/staging/flowledger/_flowledger__sources.yml), so an empty or missing folder is an
    empty table rather than an error. The landing directory comes from var `landing_dir`, else
    $FLOWLEDGER_LANDING; without one (a cluster whose raw tables are managed elsewhere) nothing
    is done. Called by on-run-start; does nothing on other adapters.
-#}
{% macro register_landing_tables() -%}
    {{ return(adapter.dispatch('register_landing_tables', 'flowledger')()) }}
{%- endmacro %}

{% macro default__register_landing_tables() -%}
    select 1
{%- endmacro %}

{% macro spark__register_landing_tables() -%}
    {%- set landing = var('landing_dir', env_var('FLOWLEDGER_LANDING', '')) -%}
    {%- set raw = flowledger_schema_prefix() ~ 'raw' -%}
    {%- if execute and landing -%}
        {%- call statement('create_raw_schema') -%} create schema if not exists {{ raw }} {%- endcall -%}
        {%- for source in graph.sources.values()
            if source.source_name == 'flowledger' and source.name in ['flow_runs', 'step_runs', 'queue_depth_samples', 'business_events'] -%}
            {%- set columns = [] -%}
            {%- for column in source.columns.values() -%}
                {%- do columns.append(column.name ~ ' ' ~ spark_data_type(column.data_type)) -%}
            {%- endfor -%}
            {%- call statement('drop_' ~ source.name) -%}
                drop table if exists {{ raw }}.{{ source.name }}
            {%- endcall -%}
            {%- call statement('create_' ~ source.name) -%}
                create table {{ raw }}.{{ source.name }} ({{ columns | join(', ') }})
                using parquet
                location '{{ landing.rstrip('/') }}/{{ source.name }}'
            {%- endcall -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}
