{#-
    SQL expression: per SLO (`slo_id_expression`), an MD5 digest of everything int_slo_events
    computes the SLO's events from besides the data: its definition, its declared adjustments and
    the var flowledger_budget_as_of. An incremental build recomputes whole every SLO whose digest
    differs from the one its rows were built with (an edited SLO file). NULL for an unknown SLO.
-#}
{% macro slo_events_inputs_digest(slo_id_expression) -%}
    {%- set slos = var('flowledger_slos', []) -%}
    {%- set adjustments = var('flowledger_budget_adjustments', []) -%}
    {%- if slos | length == 0 -%}
    cast(null as string)
    {%- else -%}
    case {{ slo_id_expression }}
        {%- for slo in slos %}
        {%- set inputs = [
            slo,
            adjustments | selectattr('slo_id', 'equalto', slo.slo_id) | list,
            var('flowledger_budget_as_of', none),
        ] %}
        when {{ budget_literal(slo.slo_id) }} then '{{ local_md5(tojson(inputs, sort_keys=true)) }}'
        {%- endfor %}
    end
    {%- endif -%}
{%- endmacro %}
