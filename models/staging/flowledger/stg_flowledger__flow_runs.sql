-- One row per flow run attempt, as landed by ingest; renamed, with the run's natural key as one string.
with source as (

    select {{ row_locator() }} * from {{ source('flowledger', 'flow_runs') }}

),

renamed as (

    select
        {{ row_locator('row_locator') }}
        {{ dbt.concat([
            'source_system', "':'", 'run_id', "':'",
            dbt.cast('run_attempt', dbt.type_string())
        ]) }} as run_key,
        source_system,
        tenant,
        flow_id,
        flow_name,
        flow_version,
        run_id,
        run_attempt,
        parent_run_id,
        root_run_id,
        trigger,
        status,
        coalesce(raw_status, status) as raw_status,
        queued_at,
        started_at,
        ended_at,
        error_type,
        error_message,
        idempotency_key,
        input_digest,
        business_key,
        trace_id,
        url as run_url,
        coalesce(execution_mode, 'live') as execution_mode,
        outputs as outputs_json,
        _batch_id as batch_id,
        _ingested_at as ingested_at

    from source

)

select * from renamed
