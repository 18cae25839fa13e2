{#-
    Whether `flowledger purge` has made the raw table `name` (raw.retention_horizons,
    raw.purged_history): asked of the database itself, since dbt does not make it; absent until
    the first purge, and on Spark, where raw files are managed elsewhere.
-#}
{% macro purge_table_exists(name) -%}
    {%- if execute and target.type != 'spark' -%}
        {%- set result = run_query(
            "select count(*) from information_schema.tables where table_catalog = current_database()"
            ~ " and table_schema = 'raw' and table_name = '" ~ name ~ "'"
        ) -%}
        {{- return(result.columns[0].values()[0] > 0) -}}
    {%- endif -%}
    {{- return(false) -}}
{%- endmacro %}

{#-
    SQL expression: the newest retention cut-off `flowledger purge` applied to any of the raw
    `tables` (raw.retention_horizons, flowledger/retention.py), or the literal
    `cast(null as timestamp)` when none of them was purged, which the models test the rendered
    text for: a purge of other tables (quarantine, queue depth samples) must not make these
    tables' horizon a subquery that answers NULL (every error-budget unit was then dropped).
    Incremental marts never recompute a period before it: its raw rows are gone, so its
    aggregate must stay as it was built from the complete data.
-#}
{% macro retention_horizon(tables) -%}
    {%- set found = purge_table_exists('retention_horizons') -%}
    {%- if found -%}
        {%- set purged = run_query(
            "select count(*) from raw.retention_horizons where purged_before is not null"
            ~ " and table_name in ('" ~ (tables | join("', '")) ~ "')"
        ) -%}
        {%- set found = purged.columns[0].values()[0] > 0 -%}
    {%- endif -%}
    {%- if not found -%}
        cast(null as timestamp)
    {%- else -%}
        (
            select max(purged_before) from raw.retention_horizons
            where table_name in ('{{ tables | join("', '") }}')
        )
    {%- endif -%}
{%- endmacro %}

{#-
    Post-hook of the incremental marts that carry a flow's latest name: a build that renames a
    flow (a newer run reports another name) renames it in the periods it did not recompute too,
    as a full rebuild would. Flows no longer known (purged) keep the name they had.
-#}
{% macro refresh_latest_flow_names(relation) -%}
    {%- if target.type == 'spark' -%}
        select 1
    {%- else -%}
        update {{ relation }} as target_rows
        set flow_name = flows.flow_name
        from {{ ref('int_flows_summarized') }} as flows
        where target_rows.flow_id = flows.flow_id
            and target_rows.flow_name is distinct from flows.flow_name
    {%- endif -%}
{%- endmacro %}

{#-
    The model's own table when `flowledger purge` has cut any of the raw `tables` (then rows of
    purged raw rows can be read back from it), else none: before the first purge, on the first
    build, in unit tests, on Spark, and when the var `flowledger_from_raw` is true (the fresh
    path of `flowledger kpi process --fresh` compiles the models to run them in memory on the
    raw rows alone, flowledger/direct_build.py). The case models keep what they were built from
    this way (the events and run links of a case whose raw rows are gone), and so does
    keep_purged_periods (the rows of purged periods).
-#}
{% macro built_before_purge(tables) -%}
    {%- if execute and this is not none and target.type != 'spark'
        and not var('flowledger_from_raw', false)
        and retention_horizon(tables) | trim != 'cast(null as timestamp)' -%}
        {{- return(adapter.get_relation(
            database=this.database, schema=this.schema, identifier=this.identifier
        )) -}}
    {%- endif -%}
    {{- return(none) -}}
{%- endmacro %}

{#-
    Follows `select * from final` of an aggregate model. On a full rebuild after a purge (every
    build of a table model): keep the recomputed periods from the retention cut-off on, and
    `union all` the model's own rows of the purged periods (aliased `kept`), whose raw rows are
    gone, so the build recomputes what it can and keeps the history it cannot. `period_column`
    may be an expression of the model's columns; `keep_where`: a further condition on the kept
    rows. Empty otherwise.
-#}
{% macro keep_purged_periods(period_column, tables, keep_where=none) -%}
    {%- set existing = none if is_incremental() else built_before_purge(tables) -%}
    {%- if existing is not none -%}
        {%- set horizon = retention_horizon(tables) | trim %}
where {{ period_column }} >= {{ horizon }}
union all
select * from {{ existing }} as kept
where {{ period_column }} < {{ horizon }}
{%- if keep_where %}
    and ({{ keep_where }})
{%- endif %}
    {%- endif -%}
{%- endmacro %}

{#-
    A subquery of what `flowledger purge` took away from the raw `table_name` (flow_runs,
    business_events), one row per purge and flow version or event type: flow_id, flow_version,
    event_type, purged_rows, first_at (raw.purged_history, flowledger/retention.py). Empty until
    the first purge and on Spark. The marts that describe the whole history (a flow's first run
    and run count, a flow version's first run, where an SLO's data starts) add it to what the
    retained rows give.
-#}
{% macro purged_history(table_name) -%}
    {%- set found = purge_table_exists('purged_history') -%}
    {%- if found -%}
        (
            select flow_id, flow_version, event_type, purged_rows, first_at
            from raw.purged_history
            where table_name = '{{ table_name }}'
        )
    {%- else -%}
        (
            select
                cast(null as {{ dbt.type_string() }}) as flow_id,
                cast(null as {{ dbt.type_string() }}) as flow_version,
                cast(null as {{ dbt.type_string() }}) as event_type,
                cast(null as {{ dbt.type_bigint() }}) as purged_rows,
                cast(null as {{ dbt.type_timestamp() }}) as first_at
            where false
        )
    {%- endif -%}
{%- endmacro %}
