select
    order_id,
    {% for method in var('payment_methods') -%}
    {{ method_total(method) }} as {{ method }}_amount,
    {% endfor -%}
    sum(amount) as total_amount,
    count(*) as payment_count
from {{ ref('stg_payments') }}
group by order_id
