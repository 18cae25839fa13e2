-- One row per CloudEvents business event; the CloudEvents attribute names become explicit ones.
with source as (

    select {{ row_locator() }} * from {{ source('flowledger', 'business_events') }}

),

renamed as (

    select
        {{ row_locator('row_locator') }}
        id as event_id,
        source as event_source,
        type as event_type,
        time as occurred_at,
        subject,
        data as data_json,
        specversion as spec_version,
        datacontenttype as data_content_type,
        dataschema as data_schema,
        traceparent as trace_parent,
        _batch_id as batch_id,
        _ingested_at as ingested_at

    from source

)

select * from renamed
