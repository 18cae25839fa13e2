-- One row per process and segment field (var flowledger_process_segments, from the process
-- configuration).
with configured as (

    {{ process_config_rows('flowledger_process_segments', [
        ('process_name', 'string'), ('segment_name', 'string')
    ]) }}

)

select * from configured
