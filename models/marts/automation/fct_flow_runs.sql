-- One row per flow run attempt: outcome, durations, step roll-up and idempotency flags.
with runs as (

    select * from {{ ref('int_flow_runs_enriched') }}

),

final as (

    select
        run_key,
        source_system,
        run_id,
        run_attempt,
        flow_id,
        flow_name,
        flow_version,
        trigger,
        status,
        raw_status,
        is_success,
        is_failed,
        queued_at,
        started_at,
        ended_at,
        duration_ms,
        end_to_end_ms,
        error_type,
        error_message,
        idempotency_key,
        business_key,
        step_attempts,
        step_failures,
        step_retries,
        dead_letters,
        is_duplicate_delivery,
        is_idempotency_collision,
        input_digest,
        step_executions

    from runs

)

select * from final
