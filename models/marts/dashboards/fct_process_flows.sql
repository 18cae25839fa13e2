-- Which flows serve which process: the flow runs whose business key is a case id of the
-- process, counted per (process, flow). The dashboard scopes infrastructure KPIs with it
-- (dashboards/data.py flows_by_process) instead of joining every run to every case per read.
select
    cases.process_name,
    runs.flow_id,
    count(*) as runs
from {{ ref('fct_flow_runs') }} as runs
inner join {{ ref('fct_cases') }} as cases on cases.case_id = runs.business_key
group by cases.process_name, runs.flow_id
