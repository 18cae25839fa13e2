-- Which flows serve which process: the flows whose run attempts are linked to the process's cases
-- (fct_case_flow_runs: by business key, within the process's configured `flows` when given, or by
-- the trace of one of the case's events; shadow runs left out), with those attempts counted per
-- (process, flow). The dashboard scopes infrastructure KPIs with it (dashboards/data.py
-- flows_by_process) instead of joining every run to every case per read. Read from the case runs,
-- it keeps the flows and counts of purged runs after `flowledger purge`, as the cases do.
select
    process_name,
    flow_id,
    count(distinct run_key) as runs
from {{ ref('fct_case_flow_runs') }}
group by process_name, flow_id
