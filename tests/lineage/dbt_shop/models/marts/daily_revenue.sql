{{ config(materialized='incremental', unique_key='ordered_on') }}
select
    ordered_on,
    sum(amount) as revenue,
    count(distinct customer_id) as buyers
from {{ ref('orders') }}
{% if is_incremental() %}
where ordered_on >= (select max(ordered_on) from {{ this }})
{% endif %}
group by ordered_on
