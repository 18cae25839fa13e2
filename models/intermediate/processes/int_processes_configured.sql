-- One row per process of the process configuration (config/processes.yml and the data
-- directory's processes.yml), validated by flowledger and passed as the var flowledger_processes.
with configured as (

    {{ process_config_rows('flowledger_processes', [
        ('process_name', 'string'), ('case_key_field', 'string'), ('event_source', 'string'),
        ('activity_field', 'string'), ('start_rule', 'string'), ('end_rule', 'string'),
        ('cycle_measure', 'string'), ('sla_from_step', 'string'), ('sla_to_step', 'string'),
        ('sla_within_seconds', 'double'), ('timeout_seconds', 'double'),
        ('gray_failure_window_seconds', 'double'), ('segments', 'string'),
        ('correction_fields', 'string'), ('ignored_fields', 'string'), ('flows', 'string')
    ]) }}

)

select * from configured
