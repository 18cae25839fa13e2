{#-
    Walking the top-level fields of a JSON object text (see also json_extract_text.sql, which
    gives a field's value as plain text).

    json_field_names(json): a set-returning select-list expression, one row per top-level field
    name (DuckDB unnest(json_keys(...)); Spark explode(json_object_keys(...))).

    json_field_json(json, key): the field's value as JSON text, minified: strings quoted, objects
    and arrays as JSON, JSON null as 'null'; NULL when the field is missing. DuckDB json_extract
    cast to text; Spark the VARIANT of the object for strings and nulls, get_json_object for
    numbers, booleans, objects and arrays (as written, like DuckDB; only the exponent of a number
    written with one may differ in case, 1.5e-7 against 1.5E-7).

    json_text_is_number(json_text): whether a JSON text (from json_field_json) is a number.
-#}
{% macro json_field_names(json_expression) -%}
    {{ return(adapter.dispatch('json_field_names', 'flowledger')(json_expression)) }}
{%- endmacro %}

{% macro default__json_field_names(json_expression) -%}
    unnest(json_keys({{ json_expression }}))
{%- endmacro %}

{% macro spark__json_field_names(json_expression) -%}
    explode(json_object_keys({{ json_expression }}))
{%- endmacro %}

{% macro json_field_json(json_expression, key_expression) -%}
    {{ return(adapter.dispatch('json_field_json', 'flowledger')(json_expression, key_expression)) }}
{%- endmacro %}

{% macro default__json_field_json(json_expression, key_expression) -%}
    cast(json_extract({{ json_expression }}, '$."' || {{ key_expression }} || '"') as varchar)
{%- endmacro %}

{% macro spark__json_field_json(json_expression, key_expression) -%}
    {%- set value -%}
        variant_get(parse_json({{ json_expression }}), concat('$["', {{ key_expression }}, '"]'))
    {%- endset -%}
    case
        when {{ value }} is null then cast(null as string)
        when is_variant_null({{ value }}) then 'null'
        when schema_of_variant({{ value }}) = 'STRING' then to_json({{ value }})
        else get_json_object({{ json_expression }}, concat('$.', {{ key_expression }}))
    end
{%- endmacro %}

{% macro json_text_is_number(json_text_expression) -%}
    {{ return(adapter.dispatch('json_text_is_number', 'flowledger')(json_text_expression)) }}
{%- endmacro %}

{% macro default__json_text_is_number(json_text_expression) -%}
    json_type({{ json_text_expression }}) in ('BIGINT', 'UBIGINT', 'DOUBLE')
{%- endmacro %}

{% macro spark__json_text_is_number(json_text_expression) -%}
    ({{ json_text_expression }} rlike '^-?[0-9]')
{%- endmacro %}
