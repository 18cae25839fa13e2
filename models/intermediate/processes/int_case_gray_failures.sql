-- Gray failures: one row per flow run attempt that reported success and was followed, on the same
-- case, by a fix within the process's gray_failure_window: a field correction or an event of a
-- manual_fix_steps step. The fix is blamed on the latest successful run touching the case that
-- ended before it (runs that emitted the fix itself, same trace, excluded: int_case_fixes_blamed,
-- one row per fix); a run blamed for several fixes, on one case or several, appears once per
-- process, with its first fix (a fix event two processes map blames the run in each: one row for
-- each, as the event has a case in each; earlier the tie was settled by row order).
with blamed as (

    select
        *,
        row_number() over (
            partition by process_name, run_key order by fixed_at, fix_event_id, case_key
        ) as fix_rank

    from {{ ref('int_case_fixes_blamed') }}

),

final as (

    select
        run_key,
        case_key,
        process_name,
        flow_id,
        flow_version,
        run_ended_at,
        fix_event_id,
        fix_kind,
        fix_step_name,
        fixed_at,
        {{ seconds_between('run_ended_at', 'fixed_at') }} as seconds_to_fix

    from blamed
    where fix_rank = 1

)

select * from final
