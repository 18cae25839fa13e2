{#-
    What the case marts keep of a business event `flowledger purge` deleted (docs: README,
    "Retention"). A case keeps its purged events, so that its cycle time, variant and rework stay
    what they were when it is recomputed; their data values do not stay. Each top-level field of
    a purged event's data becomes a digest of its value, the JSON string
    "(purged) sha256:<the first 32 hex digits of the SHA-256 of the value's minified JSON text>",
    except the fields the process
    configuration reads to build cases (case keys, event-log activity, resource and lifecycle
    fields, segments), which stay as sent, and JSON nulls (a field not set). Equal values keep
    equal digests, so a correction (a field set again to another value) is still told from a
    repeat, also between a purged value and a later one (values_differ). A digest is not
    encryption: a value guessable from a short list can be found by hashing the candidates;
    personal data is pseudonymised with a key at ingest, before any of this (the contract).

    DuckDB only: purges run on the DuckDB warehouse (on Spark the landing files are managed
    elsewhere and nothing here applies).
-#}

{% macro purged_value_prefix() -%}
    (purged) sha256:
{%- endmacro %}

{#- The data fields the processes read to build their cases, as a SQL list of literals: one list
    for every process (an event two processes map keeps one payload). -#}
{% macro case_building_fields() -%}
    {#- resource and lifecycle: every process's events carry them as columns, re-read from here -#}
    {%- set fields = ['resource', 'lifecycle'] -%}
    {%- for process in var('flowledger_processes', []) -%}
        {%- for name in [process['case_key_field']]
            + ([process['activity_field']] if process['event_source'] else [])
            + (process['ignored_fields'] or '').split(',')
            + (process['segments'] or '').split(',') -%}
            {%- if name and name not in fields -%}{%- do fields.append(name) -%}{%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- for name in fields | sort -%}
        '{{ name | replace("'", "''") }}'{{ ', ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{#-
    erase_purged_payload(data_json, occurred_at): SQL expression, `data_json` with its values
    replaced by digests when the event is older than the business events' retention cut-off (it
    was purged: ingest takes no event before it), else `data_json`. Idempotent: a digest stays
    itself. Just `data_json` before the first purge of business events and on Spark.
-#}
{% macro erase_purged_payload(data_json, occurred_at) -%}
    {%- if not events_purged() -%}
        {{ data_json }}
    {%- else -%}
        case
            when {{ occurred_at }} < {{ events_horizon_literal() }} then {{ erased_payload(data_json) }}
            else {{ data_json }}
        end
    {%- endif -%}
{%- endmacro %}

{#- erased_payload(json, keep_scalars): the JSON object text with each top-level value digested but
    for the case-building fields and nulls; `keep_scalars`: numbers and booleans too (a shadow
    run's outputs compare numbers as numbers, 85 = 85.0). A text that is no object is digested
    whole. -#}
{% macro erased_payload(data_json, keep_scalars=false) -%}
    case
        when json_type({{ data_json }}) <> 'OBJECT' then {{ comparable_value(data_json) }}
        else '{' || array_to_string(list_transform(
            list_transform(
                json_keys({{ data_json }}),
                lambda field_name: [field_name, {{ json_field_json(data_json, 'field_name') }}]
            ),
            lambda field: cast(to_json(field[1]) as varchar) || ':' || case
                when field[2] = 'null' or starts_with(field[2], '"{{ purged_value_prefix() }}')
                    {%- if keep_scalars %}
                    or json_type(field[2]) not in ('VARCHAR', 'OBJECT', 'ARRAY')
                    {%- else %}
                    or field[1] in ({{ case_building_fields() }})
                    {%- endif %}
                    then field[2]
                else '"{{ purged_value_prefix() }}' || {{ value_digest('field[2]') }} || '"'
            end
        ), ',') || '}'
    end
{%- endmacro %}

{#-
    erase_purged_outputs(outputs_json): SQL expression, a kept shadow-run pair's outputs (a pair
    whose runs `flowledger purge` deleted) with their text, object and array values digested:
    the comparison of the pair stays what it was (equal texts keep equal digests, numbers and
    booleans stay as sent). The outputs themselves on Spark.
-#}
{% macro erase_purged_outputs(outputs_json) -%}
    {%- if target.type == 'duckdb' -%}
        {{ erased_payload(outputs_json, keep_scalars=true) }}
    {%- else -%}
        {{ outputs_json }}
    {%- endif -%}
{%- endmacro %}

{#-
    values_differ(left, right): SQL boolean, whether two field values (JSON texts, from
    json_field_json) differ, a purged value's digest being equal to the value it was made from.
    NULL when either is NULL, as `<>`. Plain `<>` on Spark, where no value is purged.
-#}
{% macro values_differ(left, right) -%}
    {%- if not events_purged() -%}
        ({{ left }} <> {{ right }})
    {%- else -%}
        (
            {{ left }} <> {{ right }}
            and (
                not (
                    starts_with({{ left }}, '"{{ purged_value_prefix() }}')
                    or starts_with({{ right }}, '"{{ purged_value_prefix() }}')
                )
                or {{ comparable_value(left) }} <> {{ comparable_value(right) }}
            )
        )
    {%- endif -%}
{%- endmacro %}

{#- A value's digest: the first 128 bits of the SHA-256 of its JSON text, in hex (32 digits:
    enough to tell values apart, a third of the whole digest's size in the case marts). -#}
{% macro value_digest(value) -%}
    left(sha256({{ value }}), 32)
{%- endmacro %}

{% macro comparable_value(value) -%}
    case
        when starts_with({{ value }}, '"{{ purged_value_prefix() }}') then {{ value }}
        else '"{{ purged_value_prefix() }}' || {{ value_digest(value) }} || '"'
    end
{%- endmacro %}

{#-
    cases_with_purged_payloads(): SQL query, the case keys `flowledger purge` listed for erasure
    (raw.cases_with_purged_payloads: the cases holding events it purged since the last
    `flowledger build`, which empties the list once the case models have recomputed them), or
    none: before any such purge, on Spark and when building from raw rows alone.
-#}
{% macro cases_with_purged_payloads() -%}
    {%- if target.type == 'duckdb' and not var('flowledger_from_raw', false)
        and purge_table_exists('cases_with_purged_payloads') -%}
        {{- return('select case_key from raw.cases_with_purged_payloads') -}}
    {%- endif -%}
    {{- return(none) -}}
{%- endmacro %}

{#-
    is_purged_text(text): SQL boolean, whether a field's plain text (json_extract_text) is a
    purged value's digest: a field the configuration reads only since the purge (a new case key,
    activity or segment field) has no value for the events purged before. False until business
    events are purged, and on Spark.
-#}
{% macro is_purged_text(text) -%}
    {%- if not events_purged() -%}
        false
    {%- else -%}
        coalesce(starts_with({{ text }}, '{{ purged_value_prefix() }}'), false)
    {%- endif -%}
{%- endmacro %}

{#- The business events' retention cut-off as a timestamp literal, read when the model compiles
    (a subquery's max() would make the column an aggregation in the lineage). -#}
{% macro events_horizon_literal() -%}
    {%- set found = run_query(
        "select strftime(max(purged_before), '%Y-%m-%d %H:%M:%S.%f') from raw.retention_horizons"
        ~ " where table_name = 'business_events'"
    ) -%}
    cast('{{ found.columns[0].values()[0] }}' as timestamp)
{%- endmacro %}

{#- Whether `flowledger purge` has cut the business events that the models read (on DuckDB:
    Spark is never purged; and not from raw rows alone, `flowledger kpi --fresh`, which reads no
    row a purge deleted). -#}
{% macro events_purged() -%}
    {{- return(target.type == 'duckdb' and not var('flowledger_from_raw', false)
        and retention_horizon(['business_events']) | trim != 'cast(null as timestamp)') -}}
{%- endmacro %}
