{#-
    An interval of `amount` (an integer SQL expression) `unit`s, to add to or subtract from a
    timestamp: unit is 'microsecond', 'second' or 'hour'. DuckDB to_seconds(n) and friends;
    Spark multiplies a one-unit day-time interval (exact to the microsecond).
-#}
{% macro interval_of(amount, unit) -%}
    {%- if unit not in ['microsecond', 'second', 'hour'] -%}
        {{ exceptions.raise_compiler_error("interval_of: unit must be microsecond, second or hour, got " ~ unit) }}
    {%- endif -%}
    {{ return(adapter.dispatch('interval_of', 'flowledger')(amount, unit)) }}
{%- endmacro %}

{% macro default__interval_of(amount, unit) -%}
    to_{{ unit }}s({{ amount }})
{%- endmacro %}

{% macro spark__interval_of(amount, unit) -%}
    (interval 1 {{ unit }} * ({{ amount }}))
{%- endmacro %}
