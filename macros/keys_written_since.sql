{#-
    keys_written_since(model, ingested_column, recomputed_by): what a key test (unique,
    composite_primary_key) must read in this build: the whole `model`, or, when `flowledger build`
    vouches that every key test passed on every row ingested through the time it passes in the
    environment variable FLOWLEDGER_KEYS_VALID_THROUGH (read only when the test runs: a changing
    dbt var would make dbt parse the whole project again on every build), only the rows of
    the key groups this build could have written: the rows whose `recomputed_by` columns (the model's incremental unique_key, or the test's own
    key) equal those of a row whose `ingested_column` (or one of a list of such columns) is newer
    than that time, or NULL (all of them), and those rows themselves. Why that is the same verdict as the whole table: docs in macros/_macros.yml.

    Whole table: without that time (first build, --full-refresh, a failed build before, a purge, a
    changed project: flowledger/build.py), without `ingested_column`, and on Spark.
-#}
{% macro keys_written_since(model, ingested_column=none, recomputed_by=none) -%}
    {%- set valid_through = (env_var('FLOWLEDGER_KEYS_VALID_THROUGH', '') if execute else '') or none -%}
    {%- if valid_through is none or ingested_column is none or target.type == 'spark' -%}
        {{ model }}
    {%- else -%}
        {%- set groups = (recomputed_by | join(', ')) -%}
        {%- set columns = [ingested_column] if ingested_column is string else ingested_column -%}
        {#- newer than that time, or of unknown ingest time (every column NULL) -#}
        {%- set since = "cast('" ~ valid_through ~ "' as timestamp)" -%}
        {%- set newer, unknown = [], [] -%}
        {%- for column in columns -%}
            {%- do newer.append(column ~ ' > ' ~ since) -%}
            {%- do unknown.append(column ~ ' is null') -%}
        {%- endfor -%}
        {%- set written = '(' ~ (newer | join(' or ')) ~ ' or (' ~ (unknown | join(' and ')) ~ '))' -%}
        (
            select * from {{ model }}
            where {{ written }}
                or ({{ groups }}) in (
                    select {{ groups }} from {{ model }} where {{ written }}
                )
        ) as written_key_groups
    {%- endif -%}
{%- endmacro %}
