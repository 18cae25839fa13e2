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

{#-
    For int_flows_summarized, which merges the runs landed since its last build into each flow's
    row: a purge moves runs from the raw table to raw.purged_history, so a flow whose purged run
    count there differs from the `purged_runs` its row was built with is summarized again from
    its retained runs.

    flows_purged_since_built(merged_by): subquery of those flow_ids; none when the model's table
    lacks one of `merged_by` (built by an older version: every flow is summarized again).

    delete_flows_purged_since_built(merged_by): pre-hook deleting their rows, so a flow a purge
    took every run of goes, as a full build would not make it.
-#}
{% macro flows_purged_since_built(merged_by) -%}
    {%- if built_with_columns(merged_by) -%}
        select coalesce(history.flow_id, built.flow_id) as flow_id
        from (
            select flow_id, sum(purged_rows) as purged_runs
            from {{ purged_history('flow_runs') }} as purged_runs
            where flow_id is not null
            group by flow_id
        ) as history
        full outer join (
            select flow_id, purged_runs from {{ this }} where purged_runs > 0
        ) as built
            on history.flow_id = built.flow_id
        where history.purged_runs is distinct from built.purged_runs
    {%- else -%}
        select cast(null as {{ dbt.type_string() }}) as flow_id where false
    {%- endif -%}
{%- endmacro %}

{% macro delete_flows_purged_since_built(merged_by) -%}
    {%- if target.type != 'spark' and built_with_columns(merged_by) -%}
        delete from {{ this }}
        where flow_id in ({{ flows_purged_since_built(merged_by) }})
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
