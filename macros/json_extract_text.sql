{#-
    The value of top-level field `key_expression` (a SQL expression giving the field name, e.g. a
    column of a seed) of the JSON object text `json_expression`, as text: strings without quotes,
    booleans as written, integers as written and other numbers as DuckDB writes a double (on both
    engines: cross_db/json_fields.sql). NULL when the field is missing or JSON null.
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

{#- Spark: get_json_object; a number that is not an integer in DuckDB's text (get_json_object
    gives Java's Double text, 1.23456785E7 for 12345678.5: json_fields.sql), told apart from a
    string holding such text by the VARIANT type of the value. -#}
{% macro spark__json_extract_text(json_expression, key_expression) -%}
    {%- set text -%}
        get_json_object({{ json_expression }}, concat('$.', {{ key_expression }}))
    {%- endset -%}
    case
        when schema_of_variant(
            variant_get(try_parse_json({{ json_expression }}), concat('$["', {{ key_expression }}, '"]'))
        ) = 'STRING' then {{ text }}
        else {{ spark_duckdb_number_text(text) }}
    end
{%- endmacro %}
