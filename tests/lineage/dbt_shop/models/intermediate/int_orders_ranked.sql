{{ config(materialized='view') }}
select
    o.*,
    row_number() over (partition by customer_id order by ordered_on, order_id) as customer_order_number,
    lag(ordered_on) over (partition by customer_id order by ordered_on, order_id) as previous_ordered_on
from {{ ref('stg_orders') }} as o
