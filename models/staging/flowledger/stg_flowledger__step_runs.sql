-- One row per attempt of one step of a flow run attempt; renamed, with run and execution keys.
with source as (

    select {{ row_locator() }} * from {{ source('flowledger', 'step_runs') }}

),

renamed as (

    select
        {{ row_locator('row_locator') }}
        {{ dbt.concat([
            'source_system', "':'", 'run_id', "':'",
            dbt.cast('run_attempt', dbt.type_string())
        ]) }} as run_key,
        {{ dbt.concat([
            'source_system', "':'", 'run_id', "':'",
            dbt.cast('run_attempt', dbt.type_string()), "':'", 'step_id'
        ]) }} as step_execution_key,
        source_system,
        run_id,
        run_attempt,
        step_id,
        attempt,
        flow_id,
        step_name,
        step_type,
        parent_step_id,
        max_attempts,
        status,
        coalesce(raw_status, status) as raw_status,
        started_at,
        ended_at,
        error_type,
        error_message,
        system as called_system,
        queue_name,
        message_id,
        coalesce(dead_lettered, false) as is_dead_lettered,
        items_in,
        items_out,
        _batch_id as batch_id,
        _ingested_at as ingested_at

    from source

)

select * from renamed
