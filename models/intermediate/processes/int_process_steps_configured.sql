-- One row per process and configured step: start / end / manual fix, manual minutes and unit cost
-- (var flowledger_process_steps, from the process configuration).
with configured as (

    {{ process_config_rows('flowledger_process_steps', [
        ('process_name', 'string'), ('step_name', 'string'), ('is_start', 'boolean'),
        ('is_end', 'boolean'), ('is_manual_fix', 'boolean'), ('manual_minutes', 'double'),
        ('unit_cost', 'double')
    ]) }}

)

select * from configured
