{#-
    A DOUBLE rounded to `digits` decimals as its decimal form reads, half away from zero, the
    same on DuckDB and Spark: DuckDB's round() of a double rounds the binary value
    (round(0.145, 2) = 0.14, 0.145 being 0.14499999…), Spark's the decimal one (0.15). Through
    DECIMAL(38, 9) both round 0.145000000. For numbers written into text (the budget's
    feasibility warning, the top failing steps' shares), which must read the same on both.
-#}
{% macro decimal_round(value, digits) -%}
    cast(round(cast({{ value }} as decimal(38, 9)), {{ digits }}) as double)
{%- endmacro %}
