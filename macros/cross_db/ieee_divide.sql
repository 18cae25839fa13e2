{#-
    numerator / denominator with DuckDB's floating-point semantics on every engine: x / 0 is
    +inf or -inf, 0 / 0 is NaN (which compares greater than every number on both engines),
    NULL when either side is NULL. Spark's `/` gives NULL (or, in ANSI mode, an error) for a zero
    divisor instead. Use safe_ratio where a rate over nothing should be NULL.
-#}
{% macro ieee_divide(numerator, denominator) -%}
    {{ return(adapter.dispatch('ieee_divide', 'flowledger')(numerator, denominator)) }}
{%- endmacro %}

{% macro default__ieee_divide(numerator, denominator) -%}
    {{ numerator }} / {{ denominator }}
{%- endmacro %}

{% macro spark__ieee_divide(numerator, denominator) -%}
    case
        when ({{ denominator }}) = 0 then
            case
                when ({{ numerator }}) > 0 then double('inf')
                when ({{ numerator }}) < 0 then double('-inf')
                when ({{ numerator }}) = 0 then double('NaN')
            end
        else cast({{ numerator }} as double) / ({{ denominator }})
    end
{%- endmacro %}
