{#-
    DuckDB: tables whose model config lists `uncompressed_columns` are created with those columns
    stored uncompressed (`using compression uncompressed`), the other columns as DuckDB chooses.

    Why: writing a table is about half of a full build's CPU at 10M events, and most of that is
    DuckDB choosing and applying the compression of each text column (dict_fsst). A column of
    (nearly) unique keys, digests or payloads compresses least and costs most: at 6.5M rows an
    event id takes 3.3 CPU s to write compressed and 0.6 s uncompressed, in 1.9x the blocks.
    Low-cardinality columns are left alone: they compress 20-60x for the same write time.
    Measured per column in bench/results/NOTES.md.

    How: the same statements dbt-duckdb runs for a contracted model (create the table with its
    columns, then insert the model's rows), the column types taken from the contract when it is
    enforced, else from DuckDB's DESCRIBE of the model's query. A listed column the model does
    not produce is an error, not silently ignored. Temporary tables (the rows of an incremental
    run) and models without the config go through dbt-duckdb's own macro unchanged. Other
    engines ignore the config (dbt-spark never calls this macro).
-#}
{% macro duckdb__create_table_as(temporary, relation, compiled_code, language='sql', partitioned_by=none, sorted_by=none) -%}
    {%- set uncompressed = config.get('uncompressed_columns') or [] -%}
    {%- if temporary or language != 'sql' or uncompressed | length == 0 or partitioned_by or sorted_by -%}
        {{ dbt.duckdb__create_table_as(temporary, relation, compiled_code, language, partitioned_by, sorted_by) }}
    {%- else -%}
        {%- set columns = [] -%}
        {%- if config.get('contract').enforced -%}
            {{ get_assert_columns_equivalent(compiled_code) }}
            {%- for column in model['columns'].values() -%}
                {%- do columns.append((column.name, column.data_type)) -%}
            {%- endfor -%}
        {%- elif execute -%}
            {%- set described = run_query('describe (' ~ compiled_code ~ ')') -%}
            {%- for row in described.rows -%}
                {%- do columns.append((row[0], row[1])) -%}
            {%- endfor -%}
        {%- endif -%}
        {%- set names = columns | map(attribute=0) | list -%}
        {%- set quoted = [] -%}
        {%- for name in names -%}{%- do quoted.append(adapter.quote(name)) -%}{%- endfor -%}
        {%- for name in uncompressed if execute and name not in names -%}
            {{ exceptions.raise_compiler_error(
                model.name ~ ": uncompressed_columns lists " ~ name ~ ", which the model does not produce"
            ) }}
        {%- endfor -%}
        {%- set sql_header = config.get('sql_header', none) -%}
        {{ sql_header if sql_header is not none }}
        create table {{ relation }} (
            {%- for name, data_type in columns %}
            {{ adapter.quote(name) }} {{ data_type }}
            {%- if name in uncompressed %} using compression uncompressed{% endif %}
            {{- ',' if not loop.last }}
            {%- endfor %}
        );
        insert into {{ relation }} ({{ quoted | join(', ') }})
        select {{ quoted | join(', ') }}
        from (
            {{ compiled_code }}
        ) as model_subq;
    {%- endif -%}
{%- endmacro %}
