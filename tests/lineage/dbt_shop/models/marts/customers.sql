with customer_orders as (
    select
        customer_id,
        min(ordered_on) as first_order_on,
        max(ordered_on) as most_recent_order_on,
        count(*) as number_of_orders,
        count(distinct status) as distinct_statuses
    from {{ ref('orders') }}
    group by customer_id
),

customer_payments as (
    select
        customer_id,
        sum(amount) as lifetime_value
    from {{ ref('orders') }}
    where status <> 'RETURNED'
    group by 1
)

select
    c.customer_id,
    c.first_name || ' ' || c.last_name as full_name,
    co.first_order_on,
    co.most_recent_order_on,
    coalesce(co.number_of_orders, 0) as number_of_orders,
    co.distinct_statuses,
    coalesce(cp.lifetime_value, 0) as lifetime_value
from {{ ref('stg_customers') }} as c
left join customer_orders as co using (customer_id)
left join customer_payments as cp on c.customer_id = cp.customer_id
