select order_id, customer_id, amount as order_amount, status
from {{ source('shop', 'orders') }}
