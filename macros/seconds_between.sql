{#-
    Seconds (DOUBLE, with the sub-second part) from timestamp `start_expression` to
    `end_expression`; negative when the end is earlier, NULL when either is NULL.
-#}
{% macro seconds_between(start_expression, end_expression) -%}
    {{ return(adapter.dispatch('seconds_between', 'flowledger')(start_expression, end_expression)) }}
{%- endmacro %}

{% macro default__seconds_between(start_expression, end_expression) -%}
    cast(extract(epoch from ({{ end_expression }}) - ({{ start_expression }})) as double)
{%- endmacro %}

{% macro duckdb__seconds_between(start_expression, end_expression) -%}
    (cast(date_diff('microsecond', {{ start_expression }}, {{ end_expression }}) as double) / 1000000.0)
{%- endmacro %}

{% macro spark__seconds_between(start_expression, end_expression) -%}
    (cast(unix_micros({{ end_expression }}) - unix_micros({{ start_expression }}) as double) / 1000000.0)
{%- endmacro %}
