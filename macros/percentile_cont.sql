{#-
    Continuous quantile with linear interpolation between the two nearest ranks (the
    "type 7" quantile of R and numpy's default): values 10, 20, 30, 40 give median 25 and
    p95 = 30 + 0.85 * (40 - 30) = 38.5. NULL over an empty set. An aggregate function.
-#}
{% macro percentile_cont(expression, fraction) -%}
    {{ return(adapter.dispatch('percentile_cont', 'flowledger')(expression, fraction)) }}
{%- endmacro %}

{% macro default__percentile_cont(expression, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ expression }})
{%- endmacro %}

{% macro duckdb__percentile_cont(expression, fraction) -%}
    quantile_cont({{ expression }}, {{ fraction }})
{%- endmacro %}

{% macro spark__percentile_cont(expression, fraction) -%}
    percentile({{ expression }}, {{ fraction }})
{%- endmacro %}
