{#-
    What `flowledger purge` changes in the record provenance mart (fct_record_field_writes), so an incremental build after a purge leaves the rows a full build
    of the retained raw rows gives.

    delete_rows_of_purged_events(events_relation): pre-hook of the incremental models with a row
    per business event (event_id, event_source, occurred_at): fct_record_field_writes and
    int_slo_pair_events. Deletes the rows whose business event the purge deleted (older than the business_events cut-off and no longer in
    `events_relation`). A no-op until the first purge of business events, on a full build and on
    Spark.

    records_changed_by_purges(relation, runs_relation=none): SQL, `union select entity, record_key
    ...` clauses to append to the records an incremental build recomputes: the records with a
    field that lost its first writes (its smallest write_sequence is no longer 1: numbered again),
    and, when `runs_relation` is given (`relation` credits each write with its run_key), the
    records with a writing run the purge deleted (not in `runs_relation` any more). Empty until
    the first purge.
-#}
{% macro delete_rows_of_purged_events(events_relation) -%}
    {%- set horizon = retention_horizon(['business_events']) | trim -%}
    {%- if target.type == 'spark' or not is_incremental() or horizon == 'cast(null as timestamp)' -%}
        select 1
    {%- else -%}
        delete from {{ this }} as built
        where built.occurred_at < {{ horizon }}
            and not exists (
                select 1 from {{ events_relation }} as events
                where events.event_id = built.event_id
                    and events.event_source = built.event_source
            )
    {%- endif -%}
{%- endmacro %}

{% macro records_changed_by_purges(relation, runs_relation=none) -%}
    {%- set never = 'cast(null as timestamp)' -%}
    {%- if retention_horizon(['business_events']) | trim != never %}
    union
    select entity, record_key
    from {{ relation }}
    group by entity, record_key, field_name
    having min(write_sequence) > 1
    {%- endif %}
    {%- if runs_relation is not none and retention_horizon(['flow_runs', 'step_runs']) | trim != never %}
    union
    select entity, record_key
    from {{ relation }}
    where run_key is not null
        and run_key not in (select run_key from {{ runs_relation }})
    {%- endif %}
{%- endmacro %}
