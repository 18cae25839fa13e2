{#-
    DuckDB: tables whose model config maps columns to compression methods in `column_compression`
    ({'event_id': 'uncompressed', 'steps': 'zstd'}) are created with those columns stored that
    way (`using compression <method>`), the other columns as DuckDB chooses.

    Why: writing a table is about half of a full build's CPU at 10M events, and most of that is
    DuckDB choosing and applying the compression of each text column (dict_fsst), which costs
    most where it gains least:
    - a column of (nearly) unique keys or digests: at 6.5M rows an event id takes 3.3 CPU s to
      write compressed and 0.6 s uncompressed, in 1.9x the blocks ('uncompressed', in the
      warehouse's intermediates, which are never copied);
    - a column of JSON text: the steps of 1.9M case runs take 3.6 CPU s in 175 MiB as DuckDB
      chooses, 1.6 s in 58 MiB with zstd ('zstd', in the published marts: smaller and faster).
    Low-cardinality columns are left alone: they compress 20-60x for the same write time.
    Measured per column in bench/results/NOTES.md.

    How: the same statements dbt-duckdb runs for a contracted model (create the table with its
    columns, then insert the model's rows), the column types taken from the contract when it is
    enforced, else from DuckDB's DESCRIBE of the model's query. A listed column the model does
    not produce is an error, not silently ignored; DuckDB refuses a method it does not know or
    cannot apply to the column's type. Temporary tables (the rows of an incremental run) and
    models without the config go through dbt-duckdb's own macro unchanged; the rows an
    incremental run inserts later are stored as the table's columns say. Other engines ignore the
    config (dbt-spark never calls this macro).
-#}
{% macro duckdb__create_table_as(temporary, relation, compiled_code, language='sql', partitioned_by=none, sorted_by=none) -%}
    {%- set compression = config.get('column_compression') or {} -%}
    {%- if temporary or language != 'sql' or compression | length == 0 or partitioned_by or sorted_by -%}
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
        {%- for name in compression if execute and name not in names -%}
            {{ exceptions.raise_compiler_error(
                model.name ~ ": column_compression names " ~ name ~ ", which the model does not produce"
            ) }}
        {%- endfor -%}
        {%- set sql_header = config.get('sql_header', none) -%}
        {{ sql_header if sql_header is not none }}
        create table {{ relation }} (
            {%- for name, data_type in columns %}
            {{ adapter.quote(name) }} {{ data_type }}
            {%- if name in compression %} using compression {{ compression[name] }}{% endif %}
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
