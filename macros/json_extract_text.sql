{#-
    The value of top-level field `key_expression` (a SQL expression giving the field name, e.g. a
    column of a seed) of the JSON object text `json_expression`, as text: strings without quotes,
    numbers and booleans as written. NULL when the field is missing or JSON null.
-#}
{% macro json_extract_text(json_expression, key_expression) -%}
    {{ return(adapter.dispatch('json_extract_text', 'flowledger')(json_expression, key_expression)) }}
{%- endmacro %}

{% macro default__json_extract_text(json_expression, key_expression) -%}
    json_extract_path_text({{ json_expression }}, {{ key_expression }})
{%- endmacro %}

{% macro duckdb__json_extract_text(json_expression, key_expression) -%}
    json_extract_string({{ json_expression }}, '$."' || {{ key_expression }} || '"')
{%- endmacro %}

{% macro spark__json_extract_text(json_expression, key_expression) -%}
    get_json_object({{ json_expression }}, concat('$.', {{ key_expression }}))
{%- endmacro %}
