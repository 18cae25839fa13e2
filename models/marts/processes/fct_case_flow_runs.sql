-- One row per case and flow run attempt that touched it, with the run's steps (for the case
-- timeline): linked by business_key or by the trace of one of the case's events.
with case_runs as (

    select * from {{ ref('int_case_flow_runs') }}

),

gray_failures as (

    select * from {{ ref('int_case_gray_failures') }}

),

steps as (

    select * from {{ ref('stg_flowledger__step_runs') }}

),

run_steps as (

    select
        run_key,
        {{ json_array_agg_ordered([
            ('step', 'step_name'), ('attempt', 'attempt'), ('status', 'status'),
            ('started_at', 'started_at', 'timestamp')
        ], ['started_at', 'step_id', 'attempt']) }} as steps

    from steps
    group by run_key

),

final as (

    select
        case_runs.case_key,
        case_runs.process_name,
        case_runs.run_key,
        case_runs.linked_by,
        case_runs.flow_id,
        case_runs.flow_name,
        case_runs.flow_version,
        case_runs.status,
        case_runs.started_at,
        case_runs.ended_at,
        gray_failures.run_key is not null as is_gray_failure,
        cast(run_steps.steps as string) as steps

    from case_runs
    left join gray_failures
        on case_runs.run_key = gray_failures.run_key
    left join run_steps
        on case_runs.run_key = run_steps.run_key

)

select * from final
