{#-
    row_locator(expression): a staging view's first column, row_locator, that locates its raw
    row: DuckDB's rowid (`expression`: rowid in the view's source CTE, row_locator after it), so
    that rows_where can read the rows it picks by it. Nothing on other engines, nor with the var
    flowledger_from_raw (`flowledger kpi --fresh`, flowledger/direct_build.py: its raw tables are
    views, without rowid, and its models build whole, reading no row by locator).

    rows_where(relation, condition, locator): the rows of `relation` (in its own `from`, alone)
    for which `condition` holds, typically "its key columns are in a few keys of this build". On
    DuckDB the rows are first picked on the columns of `condition` alone and then read by their
    `locator` (rowid for a table, row_locator for a staging view): DuckDB turns that filter into
    a row-id filter in the scan, so it reads the other columns only in the row groups holding such
    rows (recent ones, for what a build changed), not every column of every row. At 10M events
    the runs of the changed run attempts: 0.45 -> 0.11 CPU s. Elsewhere, `condition` itself.
-#}
{% macro row_locator(expression='rowid') -%}
    {%- if target.type == 'duckdb' and not var('flowledger_from_raw', false) -%}{{ expression }} as row_locator,{%- endif -%}
{%- endmacro %}

{% macro rows_where(relation, condition, locator='rowid') -%}
    {%- if target.type == 'duckdb' -%}
        {{ locator }} in (select {{ locator }} from {{ relation }} where {{ condition }})
    {%- else -%}
        ({{ condition }})
    {%- endif -%}
{%- endmacro %}
