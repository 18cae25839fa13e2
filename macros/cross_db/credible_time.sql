{#-
    credible_time(column): whether the timestamp `column` (UTC) is not later than the wall clock
    plus one day, as the published "data as of" (flowledger/build.py DATA_AS_OF_SKEW). The as-of
    times the models derive from the data (the budgets', the cases' clock) take the newest time
    among such values: one record from the future (a producer's clock, a year typed 2062) would
    otherwise set them, stop every burn-rate alert and make every open case idle for decades.
    Data of the past never meets the bound, so rebuilding the same data gives the same numbers.
-#}
{% macro credible_time(column) -%}
    {{ return(adapter.dispatch('credible_time', 'flowledger')(column)) }}
{%- endmacro %}

{% macro default__credible_time(column) -%}
    ({{ column }} <= timezone('UTC', now()) + interval 1 day)
{%- endmacro %}

{% macro spark__credible_time(column) -%}
    ({{ column }} <= current_timestamp() + interval 1 day)
{%- endmacro %}
