{#-
    dbt's built-in `unique` (the same dispatched SQL), which on a big incremental table can check
    only the key groups an incremental build could have written: `ingested_column` (and
    `recomputed_by`, the model's incremental unique_key when it is not this column) as in
    composite_primary_key (macros/keys_written_since.sql). Without them it is dbt's test.

        - name: run_key
          data_tests:
            - unique:
                arguments:
                  ingested_column: last_ingested_at
-#}
{% test unique(model, column_name, ingested_column=none, recomputed_by=none) %}
    {%- set rows = keys_written_since(model, ingested_column, recomputed_by or [column_name]) -%}
    {{ adapter.dispatch('test_unique', 'dbt')(rows, column_name) }}
{% endtest %}
