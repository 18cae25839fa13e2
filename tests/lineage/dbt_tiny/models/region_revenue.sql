select
    c.region,
    count(*) as paid_orders,
    sum(o.order_amount) as revenue
from {{ ref('stg_orders') }} as o
inner join {{ source('shop', 'customers') }} as c on o.customer_id = c.customer_id
where o.status = 'paid'
group by c.region
