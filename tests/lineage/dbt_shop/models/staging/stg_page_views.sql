select
    "ViewId" as view_id,
    "CustomerId" as customer_id,
    lower("PageUrl") as page_url,
    "ViewedAt" as viewed_at
from {{ source('web', 'page_views') }}
where "CustomerId" is not null
