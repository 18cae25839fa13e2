-- One row per process and step: events, successful events (occurrences not redone later in the
-- same case: the case's last occurrence of the step), and from the configured per-step
-- manual_minutes and unit_cost: the cost, the cost per successful event and the manual hours the
-- automation saved (events of steps that are not manual fixes x manual minutes / 60).
with step_occurrences as (

    select * from {{ ref('int_case_step_occurrences') }}

),

steps as (

    select * from {{ ref('int_process_steps_configured') }}

),

per_step as (

    -- a case's occurrences of a step include exactly one successful event (its last one)
    select
        process_name,
        step_name,
        sum(occurrences) as events,
        count(*) as successful_events

    from step_occurrences
    group by process_name, step_name

),

final as (

    select
        per_step.process_name,
        per_step.step_name,
        cast(per_step.events as bigint) as events,
        cast(per_step.successful_events as bigint) as successful_events,
        coalesce(steps.is_manual_fix, false) as is_manual_fix,
        coalesce(steps.manual_minutes, 0.0) as manual_minutes,
        coalesce(steps.unit_cost, 0.0) as unit_cost,
        per_step.events * coalesce(steps.unit_cost, 0.0) as cost,
        {{ safe_ratio('per_step.events * coalesce(steps.unit_cost, 0.0)', 'per_step.successful_events') }}
            as cost_per_successful_event,
        case
            when coalesce(steps.is_manual_fix, false) then 0.0
            else per_step.events * coalesce(steps.manual_minutes, 0.0) / 60.0
        end as manual_hours_saved,
        case
            when coalesce(steps.is_manual_fix, false)
                then per_step.events * coalesce(steps.manual_minutes, 0.0) / 60.0
            else 0.0
        end as manual_hours_spent

    from per_step
    left join steps
        on per_step.process_name = steps.process_name
        and per_step.step_name = steps.step_name

)

select * from final
