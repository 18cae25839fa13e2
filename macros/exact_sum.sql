{#-
    Sum of a DOUBLE expression that does not depend on the order rows are summed in (see
    exact_avg.sql): a plain sum() over doubles adds in whatever order the threads deliver rows,
    so two builds of the same data can differ in the last bits (the fractional units of
    RatioTimeslices SLOs did). Summing exact decimals, 12 decimal places, makes every rebuild
    give the same number.
-#}
{% macro exact_sum(expression) -%}
    cast(sum(cast({{ expression }} as decimal(38, 12))) as double)
{%- endmacro %}
