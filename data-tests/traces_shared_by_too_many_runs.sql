-- Warns of each trace id carried by more run attempts than one transaction makes (a hard-coded
-- traceparent, int_traces_shared): its runs link no case and credit no record write.
{{ config(severity='warn') }}

select * from {{ ref('int_traces_shared') }}
