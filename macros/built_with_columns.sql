{#-
    For incremental models that read their own rows back (fct_record_field_writes,
    int_slo_events).

    built_with_columns(needed_columns): whether the model's table exists and has every column of
    `needed_columns`, i.e. an incremental build can read its rows back. False on a full build, on
    the first build and when the table was built by an older version of the model (a first build
    after an upgrade): the model then computes every row.

    delete_rows_of_an_older_build(needed_columns): pre-hook. An incremental build over a table
    built by an older version of the model (without one of `needed_columns`, so its rows cannot be
    matched by the model's unique key) empties it first; the model then computes every row.
-#}
{% macro built_with_columns(needed_columns) -%}
    {%- if not is_incremental() -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set built_columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {{ return(needed_columns | reject('in', built_columns) | list | length == 0) }}
{%- endmacro %}

{% macro delete_rows_of_an_older_build(needed_columns) -%}
    {%- if target.type != 'spark' and is_incremental() and not built_with_columns(needed_columns) -%}
        delete from {{ this }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
