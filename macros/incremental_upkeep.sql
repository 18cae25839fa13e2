{#-
    Hooks of the incremental intermediate models that mirror raw rows (step attempts, flow runs),
    so an incremental build leaves the same rows as a full one.

    delete_purged_rows(key_column, staging_relation, tables, time_column): pre-hook.
    `flowledger purge` deletes raw rows older than the retention cut-off; a full build no longer
    sees them, so an incremental build deletes the rows here whose `key_column` is no longer in
    `staging_relation`. Everything purged started before the cut-off, so only rows whose
    `time_column` (a start time) is before it are compared. A no-op until the first purge, on a
    full build and on Spark.

    refresh_flow_names_or_ids(relation): post-hook. A newer run can rename a flow; rows of
    executions not recomputed take the flow's latest name (the flow_id when it has none, or when
    a purge removed every run of the flow), as a full build would.
-#}
{% macro delete_purged_rows(key_column, staging_relation, tables, time_column='started_at') -%}
    {%- set horizon = retention_horizon(tables) | trim -%}
    {%- if target.type == 'spark' or not is_incremental() or horizon == 'cast(null as timestamp)' -%}
        select 1
    {%- else -%}
        delete from {{ this }}
        where {{ time_column }} < {{ horizon }}
            and {{ key_column }} not in (
                select {{ key_column }} from {{ staging_relation }}
                where started_at < {{ horizon }}
            )
    {%- endif -%}
{%- endmacro %}

{% macro refresh_flow_names_or_ids(relation) -%}
    {%- if target.type == 'spark' -%}
        select 1
    {%- else -%}
        update {{ relation }} as target_rows
        set flow_name = coalesce(flows.flow_name, target_rows.flow_id)
        from (
            -- every flow of the table, also those no run names any more (all purged);
            -- int_flows_summarized has one row per flow_id
            select built.flow_id, summarized.flow_name
            from (select distinct flow_id from {{ relation }}) as built
            left join {{ ref('int_flows_summarized') }} as summarized
                on built.flow_id = summarized.flow_id
        ) as flows
        where target_rows.flow_id = flows.flow_id
            and target_rows.flow_name is distinct from coalesce(flows.flow_name, target_rows.flow_id)
    {%- endif -%}
{%- endmacro %}

{#-
    built_through(expression, needed_columns): SQL expression, the newest `expression` (an ingest
    time) over the rows of the incremental model being built, as a timestamp literal read when
    the model is compiled (so that `ingested_at > <it>` is a constant filter DuckDB pushes into
    the scan, skipping the row groups landed before it, where a subquery would be compared row by
    row after reading every column); NULL, so that everything is recomputed, when the table is
    empty or was built by an older version of the model without one of `needed_columns` (a first
    incremental build after an upgrade). Use inside `{% if is_incremental() %}`.
-#}
{% macro built_through(expression, needed_columns) -%}
    {%- if execute and built_with_columns(needed_columns) -%}
        {%- set newest = run_query(
            'select cast(max(' ~ expression ~ ') as varchar) from ' ~ this
        ).columns[0].values()[0] -%}
        {%- if newest is none -%}
            cast(null as timestamp)
        {%- else -%}
            cast('{{ newest }}' as timestamp)
        {%- endif -%}
    {%- else -%}
        cast(null as timestamp)
    {%- endif -%}
{%- endmacro %}
