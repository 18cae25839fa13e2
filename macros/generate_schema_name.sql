{#-
    Use a model's custom schema verbatim (staging, intermediate, marts, seeds) instead of dbt's
    default "<target schema>_<custom schema>"; models without one land in the target schema.
    On Spark the var `schema_prefix` (default none) goes before each of flowledger's databases
    (`fl_` -> fl_raw, fl_staging, fl_intermediate, fl_marts), so that flowledger shares a cluster
    with databases of those names; DuckDB's are fixed (the warehouse file is flowledger's own).
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ flowledger_schema_prefix() }}{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}

{#- The Spark database prefix (var `schema_prefix`: letters, digits and underscores), checked;
    '' on DuckDB and by default. -#}
{% macro flowledger_schema_prefix() -%}
    {%- set prefix = var('schema_prefix', '') or '' -%}
    {%- if target.type != 'spark' -%}
        {{- return('') -}}
    {%- endif -%}
    {%- if not modules.re.fullmatch('[A-Za-z0-9_]*', prefix) -%}
        {{ exceptions.raise_compiler_error(
            "var schema_prefix " ~ prefix ~ " is not a Spark database name prefix: use letters, "
            ~ "digits and underscores (fl_ makes fl_raw, fl_staging, fl_intermediate, fl_marts)"
        ) }}
    {%- endif -%}
    {{- return(prefix | lower) -}}
{%- endmacro %}
