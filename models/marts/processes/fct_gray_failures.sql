-- One row per gray failure: a flow run attempt that reported success and was followed on the
-- same case by a correction or a manual fix within the process's window (see gray_failure).
select * from {{ ref('int_case_gray_failures') }}
