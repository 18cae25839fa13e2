{#-
    Mean of a DOUBLE expression that does not depend on the order rows are summed in.
    A plain avg() over doubles sums in whatever order the threads deliver rows, so two builds
    of the same data can differ in the last bits; summing exact decimals (microsecond
    precision for seconds) makes every rebuild give the same number.
-#}
{% macro exact_avg(expression) -%}
    cast(avg(cast({{ expression }} as decimal(38, 6))) as double)
{%- endmacro %}
