{#-
    The Spark SQL name of a column type written the DuckDB/ANSI way in the YAML (contracts and
    sources): varchar/text/char without a length become string; every other type (bigint,
    double, boolean, date, timestamp, decimal(p, s)) is spelled the same on both engines.
-#}
{% macro spark_data_type(data_type) -%}
    {%- set normalized = (data_type or '') | trim | lower -%}
    {%- if normalized in ['varchar', 'text', 'char', 'bpchar', 'string'] -%}
        string
    {%- else -%}
        {{ data_type }}
    {%- endif -%}
{%- endmacro %}

{#-
    Contracts on Spark: dbt checks a contract by casting NULL to each declared data_type, and
    Spark refuses `cast(null as varchar)` without a length. Spell the declared types the Spark
    way (spark_data_type) so the same model YAML enforces the same contract on both engines.
-#}
{% macro spark__get_empty_schema_sql(columns) -%}
    {%- set spark_columns = {} -%}
    {%- for name in columns -%}
        {%- set column = columns[name].copy() if columns[name] is mapping else columns[name] -%}
        {%- if column.get('data_type') is not none -%}
            {%- do column.update({'data_type': spark_data_type(column['data_type']) | trim}) -%}
        {%- endif -%}
        {%- do spark_columns.update({name: column}) -%}
    {%- endfor -%}
    {{ return(default__get_empty_schema_sql(spark_columns)) }}
{%- endmacro %}
