{#-
    A join clause, after `from <table>`: one row per integer `column` from `start` to `stop`
    (both included; none when start > stop or either is NULL) for each row of the table, the
    bounds being expressions over that row. DuckDB: a lateral unnest of generate_series;
    Spark: a lateral view exploding sequence (which would count down when start > stop, hence
    the guard).
-#}
{% macro integer_series_join(start, stop, alias, column) -%}
    {{ return(adapter.dispatch('integer_series_join', 'flowledger')(start, stop, alias, column)) }}
{%- endmacro %}

{% macro default__integer_series_join(start, stop, alias, column) -%}
    cross join lateral (
        select unnest(generate_series(
            {{ start }},
            {{ stop }}
        )) as {{ column }}
    ) as {{ alias }}
{%- endmacro %}

{% macro spark__integer_series_join(start, stop, alias, column) -%}
    lateral view explode(
        case when ({{ start }}) <= ({{ stop }}) then sequence({{ start }}, {{ stop }}) end
    ) {{ alias }} as {{ column }}
{%- endmacro %}
