{% macro method_total(method) -%}
    sum(case when payment_method = '{{ method }}' then amount else 0 end)
{%- endmacro %}
