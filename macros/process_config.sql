{#-
    The rows of one part of the process configuration, passed by `flowledger build` as the dbt
    var `var_name` (flowledger/processes/dbt_tables.py), as SELECT ... UNION ALL of typed
    literals (`budget_rows`). Without the var the model stops with a message saying how to pass it:
    an absent configuration must not look like a configuration without processes.
-#}
{% macro process_config_rows(var_name, columns) -%}
    {%- set rows = var(var_name, none) -%}
    {%- if rows is none -%}
        {%- if execute -%}
            {{ exceptions.raise_compiler_error(
                "the process configuration was not passed to dbt (var " ~ var_name ~ "): build with "
                ~ "`flowledger build`, or pass `--vars \"$(flowledger processes vars)\"` to dbt"
            ) }}
        {%- endif -%}
        {%- set rows = [] -%}
    {%- endif -%}
    {{ budget_rows(rows, columns) }}
{%- endmacro %}
