{#-
    numerator / denominator as DOUBLE; NULL when the denominator is 0 or NULL (a rate over
    nothing is unknown, not zero).
-#}
{% macro safe_ratio(numerator, denominator) -%}
    case
        when {{ denominator }} is null or {{ denominator }} = 0 then cast(null as double)
        else cast({{ numerator }} as double) / cast({{ denominator }} as double)
    end
{%- endmacro %}
