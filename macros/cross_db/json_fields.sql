{#-
    Walking the top-level fields of a JSON object text (see also json_extract_text.sql, which
    gives a field's value as plain text).

    json_field_names(json): a set-returning select-list expression, one row per top-level field
    name (DuckDB unnest(json_keys(...)); Spark explode(json_object_keys(...))).

    json_field_json(json, key): the field's value as JSON text, minified: strings quoted, objects
    and arrays as JSON, JSON null as 'null'; NULL when the field is missing. Any key works, ''
    and keys holding . [ ] * " ' / ~ included: DuckDB json_extract with a JSON Pointer
    (json_pointer), cast to text; Spark looks the key up in the object read as a map, never in a
    path: as VARIANT for strings and nulls, as text (what get_json_object gives) for numbers,
    booleans, objects and arrays. Numbers read the same on both: integers as written,
    other numbers as the shortest text that reads back as the same double, plain from 1e-6 up to
    1e21 (12345678.5, 10000000000.0, 0.0001) and with an exponent outside (1.5e-7, 1e21): that
    is how DuckDB writes them; Spark's get_json_object gives Java's Double text (1.23456785E7,
    1.0E10, 1.0E-4, 1.5E-7), rewritten by spark_duckdb_number_text. Numbers nested in an object
    or array field are left in each engine's form.

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
    cast(json_extract({{ json_expression }}, {{ json_pointer(key_expression) }}) as varchar)
{%- endmacro %}

{% macro spark__json_field_json(json_expression, key_expression) -%}
    {%- set value = spark_json_field_variant(json_expression, key_expression) -%}
    case
        when {{ value }} is null then cast(null as string)
        when is_variant_null({{ value }}) then 'null'
        when schema_of_variant({{ value }}) = 'STRING' then to_json({{ value }})
        else {{ spark_duckdb_number_text(spark_json_field_text(json_expression, key_expression)) }}
    end
{%- endmacro %}

{#- json_pointer(key): the RFC 6901 JSON Pointer to top-level field `key` (a SQL expression), for
    DuckDB's json_extract / json_extract_string: '/' and the key with '~' written '~0' and '/'
    '~1'. Unlike a '$."key"' path it takes every key: '' (the pointer '/') and keys with quotes. -#}
{% macro json_pointer(key_expression) -%}
    {%- set key = key_expression | trim -%}
    {%- if key | length >= 2 and key[0] == "'" and key[-1] == "'" and "'" not in key[1:-1] -%}
        {#- a quoted name: the pointer as a literal (no work per row; lineage reads the field) -#}
        {{ json_pointer_literal(key[1:-1]) }}
    {%- else -%}
        '/' || replace(replace({{ key_expression }}, '~', '~0'), '/', '~1')
    {%- endif -%}
{%- endmacro %}

{#- json_pointer_literal(name): the same pointer as a SQL string literal, for a field name known
    when the model compiles. -#}
{% macro json_pointer_literal(name) -%}
    '/{{ name | replace("~", "~0") | replace("/", "~1") | replace("'", "''") }}'
{%- endmacro %}

{#- Spark: top-level field `key` of a JSON object text, looked up in the object read as a map
    (first of repeated keys, like DuckDB; NULL for a missing field or a text that is not an
    object): as VARIANT (its type tells strings, nulls and numbers apart), and as text (strings
    unquoted, everything else as get_json_object gives it). get_json_object's path would read
    . [ * in a key as path syntax, and a VARIANT path cannot hold both quote characters. -#}
{% macro spark_json_field_variant(json_expression, key_expression) -%}
    from_json({{ json_expression }}, 'map<string,variant>')[{{ key_expression }}]
{%- endmacro %}

{% macro spark_json_field_text(json_expression, key_expression) -%}
    from_json({{ json_expression }}, 'map<string,string>')[{{ key_expression }}]
{%- endmacro %}

{#- Java's Double text (d.dddE±n, used below 1e-3 and from 1e7 on) rewritten the way DuckDB
    writes the double: plain from 1e-6 up to 1e21 (".0" after a whole number), else
    d.ddde±n with no ".0". Any other text (plain numbers, booleans, objects, arrays) is kept. -#}
{% macro spark_duckdb_number_text(text) -%}
    {%- set digits = "regexp_replace(regexp_replace(regexp_extract(" ~ text ~ ", '^-?([0-9.]+)E', 1), '[.]', ''), '0+$', '')" -%}
    {%- set exponent = "cast(regexp_extract(" ~ text ~ ", 'E(-?[0-9]+)$', 1) as int)" -%}
    {%- set sign = "case when " ~ text ~ " like '-%' then '-' else '' end" -%}
    case
        when not ({{ text }} rlike '^-?[0-9][.][0-9]+E-?[0-9]+$') then {{ text }}
        when {{ exponent }} < -6 or {{ exponent }} > 20 then concat(
            {{ sign }}, substr({{ digits }}, 1, 1),
            case when length({{ digits }}) > 1 then concat('.', substr({{ digits }}, 2)) else '' end,
            'e', cast({{ exponent }} as string)
        )
        when {{ exponent }} < 0 then concat(
            {{ sign }}, '0.', repeat('0', -{{ exponent }} - 1), {{ digits }}
        )
        when length({{ digits }}) <= {{ exponent }} + 1 then concat(
            {{ sign }}, {{ digits }}, repeat('0', {{ exponent }} + 1 - length({{ digits }})), '.0'
        )
        else concat(
            {{ sign }}, substr({{ digits }}, 1, {{ exponent }} + 1), '.',
            substr({{ digits }}, {{ exponent }} + 2)
        )
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

{#- Whether a JSON value's text is an integer literal (no fraction, no exponent): compared as
    text, such numbers keep every digit (as doubles, 123456789012345678901234567890 and …891
    are one number). -#}
{% macro json_text_is_integer(json_text_expression) -%}
    {{ return(adapter.dispatch('json_text_is_integer', 'flowledger')(json_text_expression)) }}
{%- endmacro %}

{% macro default__json_text_is_integer(json_text_expression) -%}
    regexp_full_match({{ json_text_expression }}, '-?[0-9]+')
{%- endmacro %}

{% macro spark__json_text_is_integer(json_text_expression) -%}
    ({{ json_text_expression }} rlike '^-?[0-9]+$')
{%- endmacro %}
