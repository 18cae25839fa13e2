with source as (
    select * from {{ ref('raw_customers') }}
),

renamed as (
    select
        id as customer_id,
        first_name,
        last_name,
        cast(signup_date as date) as signed_up_on
    from source
)

select * from renamed
