{#-
    SQL expression: the newest retention cut-off `flowledger purge` applied to any of the raw
    `tables` (raw.retention_horizons, flowledger/retention.py), or NULL when none was purged.
    Incremental marts never recompute a period before it: its raw rows are gone, so its
    aggregate must stay as it was built from the complete data.
-#}
{% macro retention_horizon(tables) -%}
    {%- set relation = adapter.get_relation(
        database=target.database, schema='raw', identifier='retention_horizons'
    ) if execute else none -%}
    {%- if relation is none -%}
        cast(null as timestamp)
    {%- else -%}
        (
            select max(purged_before) from {{ relation }}
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
