{#-
    Whether the comma-separated text `list_expression` ('a,b,c', no spaces) has the item
    `value_expression`; NULL when the list is NULL. DuckDB list_contains(string_split(...));
    Spark array_contains(split(...)).
-#}
{% macro csv_list_contains(list_expression, value_expression) -%}
    {{ return(adapter.dispatch('csv_list_contains', 'flowledger')(list_expression, value_expression)) }}
{%- endmacro %}

{% macro default__csv_list_contains(list_expression, value_expression) -%}
    list_contains(string_split({{ list_expression }}, ','), {{ value_expression }})
{%- endmacro %}

{% macro spark__csv_list_contains(list_expression, value_expression) -%}
    array_contains(split({{ list_expression }}, ','), {{ value_expression }})
{%- endmacro %}
