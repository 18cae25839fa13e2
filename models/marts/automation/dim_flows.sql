-- One row per flow_id that has run: its latest name, source system and version, and run span.
with flows as (

    select * from {{ ref('int_flows_summarized') }}

),

final as (

    select
        flow_id,
        flow_name,
        source_system,
        latest_flow_version,
        first_run_at,
        last_run_at,
        runs

    from flows

)

select * from final
