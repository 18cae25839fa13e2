-- One row per flow_id over all its run attempts: the latest name, source system and version
-- (latest by started_at, then run_key) and the run span and count. After `flowledger purge`
-- the first run and the count include the purged runs (macros/retention_horizon.sql
-- purged_history), so the flow's history does not shrink with its raw rows.
-- One hash aggregate over the runs: the latest values are max_by on the (started_at, run_key)
-- pair (both required by the flow-run contract, so never NULL), no window sorts the runs of a
-- flow on one thread.
-- Incremental (DuckDB): every aggregate here merges, so a build summarizes only the runs landed
-- since the newest last_ingested_at here and merges that into the flow's row: the later of the two latest runs by (started_at, run_key), the earlier
-- first run, the sum of the counts. A flow whose purged run count moved since its row was built
-- (a purge took some of its runs) is summarized again from its retained runs. On Spark the
-- model is a table rebuilt whole.
{%- set recency = ('struct' if target.type == 'spark' else 'row') ~ '(started_at, run_key)' %}
{%- set merged_by = ['last_ingested_at', 'latest_run_key', 'latest_version_started_at',
    'latest_version_run_key', 'purged_runs'] %}
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    unique_key='flow_id',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    pre_hook=[
        "{{ delete_rows_of_an_older_build(" ~ merged_by ~ ") }}",
        "{{ delete_flows_purged_since_built(" ~ merged_by ~ ") }}",
    ],
) }}
{#- merging: a table built by this version of the model to merge the landed runs into (else
    every flow is summarized, and the pre-hook has emptied a table of an older version) -#}
{%- set merging = is_incremental() and built_with_columns(merged_by) %}
{%- set watermark = built_through('last_ingested_at', merged_by) if merging else none %}

with

runs as (

    select * from {{ ref('stg_flowledger__flow_runs') }}
    where flow_id is not null
    {% if merging %}
        and ({{ watermark }} is null or ingested_at > {{ watermark }})
    {% if purge_table_exists('purged_history') %}
    -- (not an `or` in the filter above: DuckDB would no longer skip, by the watermark alone,
    -- the row groups landed before it)
    union all
    select * from {{ ref('stg_flowledger__flow_runs') }}
    where {{ watermark }} is not null
        and not coalesce(ingested_at > {{ watermark }}, false)
        and {{ rows_where(ref('stg_flowledger__flow_runs'),
            'flow_id in (' ~ flows_purged_since_built(merged_by) ~ ')', 'row_locator') }}
    {% endif %}
    {% endif %}

),

summarized as (

    select
        flow_id,
        max_by(flow_name, {{ recency }}) as flow_name,
        max_by(source_system, {{ recency }}) as source_system,
        max_by(flow_version, {{ recency }}) filter (where flow_version is not null)
            as latest_flow_version,
        min(started_at) as first_run_at,
        max(started_at) as last_run_at,
        count(*) as runs,
        max_by(run_key, {{ recency }}) as latest_run_key,
        max_by(started_at, {{ recency }}) filter (where flow_version is not null)
            as latest_version_started_at,
        max_by(run_key, {{ recency }}) filter (where flow_version is not null)
            as latest_version_run_key,
        max(ingested_at) as last_ingested_at

    from runs
    group by flow_id

),

purged as (

    select
        flow_id,
        min(first_at) as first_run_at,
        sum(purged_rows) as runs

    from {{ purged_history('flow_runs') }} as purged_runs
    group by flow_id

),

with_purged as (

    select
        summarized.flow_id,
        summarized.flow_name,
        summarized.source_system,
        summarized.latest_flow_version,
        least(summarized.first_run_at, coalesce(purged.first_run_at, summarized.first_run_at))
            as first_run_at,
        summarized.last_run_at,
        cast(summarized.runs + coalesce(purged.runs, 0) as bigint) as runs,
        summarized.latest_run_key,
        summarized.latest_version_started_at,
        summarized.latest_version_run_key,
        summarized.last_ingested_at,
        cast(coalesce(purged.runs, 0) as bigint) as purged_runs

    from summarized
    left join purged
        on summarized.flow_id = purged.flow_id

),

{% if merging %}
-- the rows to merge into: every flow built before, but those summarized again after a purge
built as (

    select * from {{ this }}
    where {{ watermark }} is not null
        and flow_id not in ({{ flows_purged_since_built(merged_by) }})

),

{%- set newer = 'row(landed.last_run_at, landed.latest_run_key) > row(built.last_run_at, built.latest_run_key)' %}
{%- set newer_version = 'landed.latest_version_run_key is not null and (built.latest_version_run_key is null'
    ~ ' or row(landed.latest_version_started_at, landed.latest_version_run_key)'
    ~ ' > row(built.latest_version_started_at, built.latest_version_run_key))' %}

final as (

    -- flows with no row to merge into: new ones, and those summarized again after a purge
    select * from with_purged
    where flow_id not in (select flow_id from built)

    union all

    select
        built.flow_id,
        case when {{ newer }} then landed.flow_name else built.flow_name end as flow_name,
        case when {{ newer }} then landed.source_system else built.source_system end
            as source_system,
        case when {{ newer_version }} then landed.latest_flow_version
            else built.latest_flow_version end as latest_flow_version,
        least(built.first_run_at, landed.first_run_at) as first_run_at,
        greatest(built.last_run_at, landed.last_run_at) as last_run_at,
        cast(built.runs + landed.runs as bigint) as runs,
        case when {{ newer }} then landed.latest_run_key else built.latest_run_key end
            as latest_run_key,
        case when {{ newer_version }} then landed.latest_version_started_at
            else built.latest_version_started_at end as latest_version_started_at,
        case when {{ newer_version }} then landed.latest_version_run_key
            else built.latest_version_run_key end as latest_version_run_key,
        greatest(built.last_ingested_at, landed.last_ingested_at) as last_ingested_at,
        built.purged_runs

    from summarized as landed
    inner join built
        on landed.flow_id = built.flow_id

)
{% else %}
final as (

    select * from with_purged

)
{% endif %}

select * from final
