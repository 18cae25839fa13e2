{#-
    Post-hook of an incremental delete+insert model whose recomputed groups can come out with no
    rows at all (int_slo_events: a late failed attempt leaves a latency SLO's run group without a
    counted event). Such a model adds one marker row per recomputed group, with `marker_column`
    NULL, so the delete removes every old row of the group; this hook then deletes the markers.
    No-op on Spark, where these models are tables rebuilt whole (and have no markers).
-#}
{% macro delete_recompute_markers(relation, marker_column) -%}
    {%- if target.type != 'spark' -%}
    delete from {{ relation }} where {{ marker_column }} is null
    {%- endif -%}
{%- endmacro %}
