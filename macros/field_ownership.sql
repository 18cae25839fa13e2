{#-
    The field ownership declared in contracts/business_event.odcs.yaml, passed by
    `flowledger build` as the dbt var `flowledger_field_ownership` (lineage/ownership.py,
    dbt_vars), as SELECT ... UNION ALL of typed literals (`budget_rows`). Plain SQL fed by vars,
    like the process configuration, so it runs on every adapter (dbt-spark's session method runs
    no Python models). Without the var the model stops with a message saying how to pass it: an
    absent declaration must not look like a declaration without tracked fields.
-#}
{% macro field_ownership_rows() -%}
    {%- set rows = var('flowledger_field_ownership', none) -%}
    {%- if rows is none -%}
        {%- if execute -%}
            {{ exceptions.raise_compiler_error(
                "the field ownership of contracts/business_event.odcs.yaml was not passed to dbt "
                ~ "(var flowledger_field_ownership): build with `flowledger build`, or pass to dbt "
                ~ "`--vars` with lineage.ownership.dbt_vars() (README, \"Spark\")"
            ) }}
        {%- endif -%}
        {%- set rows = [] -%}
    {%- endif -%}
    {{ budget_rows(rows, [
        ('entity', 'string'), ('key_field', 'string'), ('field_name', 'string'),
        ('system_of_record', 'string'), ('allowed_writers', 'string'), ('event_types', 'string')
    ]) }}
{%- endmacro %}
