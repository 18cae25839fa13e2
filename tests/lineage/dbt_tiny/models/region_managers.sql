-- select * over a seed: dbt-ol gives no schema for seeds, flowledger reads the warehouse catalog
select r.*, rr.revenue
from {{ ref('regions') }} as r
left join {{ ref('region_revenue') }} as rr on r.region = rr.region
