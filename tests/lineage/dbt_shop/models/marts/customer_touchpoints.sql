{{ config(alias='touchpoints', schema='reporting') }}
select customer_id, ordered_on as touched_at, 'order' as channel
from {{ ref('stg_orders') }}
union all
select customer_id, viewed_at, 'web'
from {{ ref('stg_page_views') }}
where customer_id in (select customer_id from {{ ref('stg_customers') }})
