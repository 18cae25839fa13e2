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
    json_extract_string({{ json_expression }}, {{ json_pointer(key_expression) }})
{%- endmacro %}

{#- Spark: the field's text from the object read as a map (any key: cross_db/json_fields.sql); a
    number that is not an integer in DuckDB's text (Java's Double text there, 1.23456785E7 for
    12345678.5) rewritten, told apart from a string holding such text by the VARIANT type of the
    value. -#}
{% macro spark__json_extract_text(json_expression, key_expression) -%}
    {%- set text = spark_json_field_text(json_expression, key_expression) -%}
    case
        when schema_of_variant({{ spark_json_field_variant(json_expression, key_expression) }})
            = 'STRING' then {{ text }}
        else {{ spark_duckdb_number_text(text) }}
    end
{%- endmacro %}
