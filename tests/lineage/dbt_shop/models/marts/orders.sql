with orders as (
    select * from {{ ref('int_orders_ranked') }}
),

payments as (
    select * from {{ ref('int_order_payments') }}
)

select
    orders.order_id,
    orders.customer_id,
    orders.ordered_on,
    orders.status,
    orders.customer_order_number,
    {% for method in var('payment_methods') -%}
    coalesce(payments.{{ method }}_amount, 0) as {{ method }}_amount,
    {% endfor -%}
    coalesce(payments.total_amount, 0) as amount,
    case when orders.status = 'RETURNED' then 0 else payments.total_amount end as net_amount
from orders
left join payments on orders.order_id = payments.order_id
