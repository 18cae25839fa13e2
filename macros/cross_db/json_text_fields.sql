{#-
    Several top-level fields of one JSON object text, parsing the text once (the text of each
    field as json_extract_text.sql gives it: strings without quotes, numbers and booleans as
    written, objects and arrays as JSON, NULL when missing or JSON null).

    json_text_fields(json): the parsed object, to keep in a column. DuckDB: a MAP(VARCHAR, VARCHAR)
    (json_transform, one parse; NULL for an object with a repeated key, whose fields are then read
    from the text); Spark: the text itself.

    json_text_field(json, parsed, key): field `key` of the object (`json` its text, `parsed` its
    json_text_fields). DuckDB: a map lookup; Spark: json_extract_text on the text.
-#}
{% macro json_text_fields(json_expression) -%}
    {{ return(adapter.dispatch('json_text_fields', 'flowledger')(json_expression)) }}
{%- endmacro %}

{% macro default__json_text_fields(json_expression) -%}
    json_transform({{ json_expression }}, '"MAP(VARCHAR, VARCHAR)"')
{%- endmacro %}

{% macro spark__json_text_fields(json_expression) -%}
    {{ json_expression }}
{%- endmacro %}

{% macro json_text_field(json_expression, parsed_expression, key_expression) -%}
    {{ return(adapter.dispatch('json_text_field', 'flowledger')(json_expression, parsed_expression, key_expression)) }}
{%- endmacro %}

{% macro default__json_text_field(json_expression, parsed_expression, key_expression) -%}
    case
        when {{ parsed_expression }} is null
            then {{ json_extract_text(json_expression, key_expression) }}
        else map_extract_value({{ parsed_expression }}, {{ key_expression }})
    end
{%- endmacro %}

{% macro spark__json_text_field(json_expression, parsed_expression, key_expression) -%}
    {{ json_extract_text(json_expression, key_expression) }}
{%- endmacro %}
