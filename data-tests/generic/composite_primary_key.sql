{#-
    A primary key made of several columns: fails on every row where a key column is NULL and on
    every key value that occurs more than once. Use `unique` + `not_null` for one-column keys.

        data_tests:
          - composite_primary_key:
              arguments:
                columns: [flow_id, step_name, day]

    On a big incremental table, `ingested_column` (and `recomputed_by`, the model's incremental
    unique_key when it is not the key itself) let an incremental build check only the key groups
    it could have written (macros/keys_written_since.sql):

                columns: [entity, record_key, field_name, event_id, event_source]
                ingested_column: last_ingested_at
                recomputed_by: [entity, record_key]
-#}
{% test composite_primary_key(model, columns, ingested_column=none, recomputed_by=none) %}
    {%- set key_list = columns | join(', ') -%}
    {%- set model = keys_written_since(model, ingested_column, recomputed_by or columns) -%}
    with null_keys as (
        select
            {{ key_list }},
            'null key column' as problem,
            cast(1 as bigint) as occurrences
        from {{ model }}
        where {% for column in columns %}{{ column }} is null{% if not loop.last %} or {% endif %}{% endfor %}
    ),

    {#- Group by one hash of the key first (an integer: about half the work of grouping by
        several text columns on big tables), then by the key itself only where hashes repeat, so
        a hash collision is never reported as a repeated key. -#}
    repeated_hashes as (
        select hash({{ key_list }}) as key_hash
        from {{ model }}
        group by 1
        having count(*) > 1
    ),

    repeated_keys as (
        select
            {{ key_list }},
            'repeated key' as problem,
            count(*) as occurrences
        from {{ model }}
        where hash({{ key_list }}) in (select key_hash from repeated_hashes)
        group by {{ key_list }}
        having count(*) > 1
    )

    select * from null_keys
    union all
    select * from repeated_keys
{% endtest %}
