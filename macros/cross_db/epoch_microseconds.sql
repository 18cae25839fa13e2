{#-
    Timestamps as integer microseconds since the UNIX epoch (UTC) and back, and the integer
    division that slices them: DuckDB epoch_us / make_timestamp / `//`; Spark
    unix_micros / timestamp_micros / `div`.
-#}
{% macro epoch_microseconds(timestamp_expression) -%}
    {{ return(adapter.dispatch('epoch_microseconds', 'flowledger')(timestamp_expression)) }}
{%- endmacro %}

{% macro default__epoch_microseconds(timestamp_expression) -%}
    epoch_us({{ timestamp_expression }})
{%- endmacro %}

{% macro spark__epoch_microseconds(timestamp_expression) -%}
    unix_micros({{ timestamp_expression }})
{%- endmacro %}

{% macro timestamp_from_microseconds(microseconds_expression) -%}
    {{ return(adapter.dispatch('timestamp_from_microseconds', 'flowledger')(microseconds_expression)) }}
{%- endmacro %}

{% macro default__timestamp_from_microseconds(microseconds_expression) -%}
    make_timestamp({{ microseconds_expression }})
{%- endmacro %}

{% macro spark__timestamp_from_microseconds(microseconds_expression) -%}
    timestamp_micros({{ microseconds_expression }})
{%- endmacro %}

{#- The integer quotient of two integer expressions, truncated toward zero (-7, 2 gives -3). -#}
{% macro integer_divide(dividend, divisor) -%}
    {{ return(adapter.dispatch('integer_divide', 'flowledger')(dividend, divisor)) }}
{%- endmacro %}

{% macro default__integer_divide(dividend, divisor) -%}
    ({{ dividend }} // {{ divisor }})
{%- endmacro %}

{% macro spark__integer_divide(dividend, divisor) -%}
    ({{ dividend }} div {{ divisor }})
{%- endmacro %}
