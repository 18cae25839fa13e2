-- One row per queue-depth sample; renamed only.
with source as (

    select * from {{ source('flowledger', 'queue_depth_samples') }}

),

renamed as (

    select
        source_system,
        queue_name,
        sampled_at,
        depth as queue_depth,
        flow_id,
        oldest_message_age_s as oldest_message_age_seconds,
        _batch_id as batch_id,
        _ingested_at as ingested_at

    from source

)

select * from renamed
