-- One row per process and CloudEvents type under its `events`, with the step name (var
-- flowledger_process_event_types, from the process configuration).
with configured as (

    {{ process_config_rows('flowledger_process_event_types', [
        ('process_name', 'string'), ('event_type', 'string'), ('step_name', 'string')
    ]) }}

)

select * from configured
