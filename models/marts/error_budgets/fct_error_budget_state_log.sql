-- One row per policy-state change of an SLO (the first evaluated step opens the log): when,
-- from which state to which, the remaining budget and pace then, and the rule that applied.
with states as (

    select * from {{ ref('int_slo_policy_states') }}

),

changes as (

    select
        *,
        lag(state) over (partition by slo_id order by step_index) as from_state

    from states

),

final as (

    select
        slo_id,
        step_at as changed_at,
        from_state,
        state as to_state,
        budget_remaining,
        pace,
        is_ticket_firing,
        case
            when state = 'INSUFFICIENT_DATA' and budget_remaining is null
                then 'no units in the period: no data'
            when state = 'INSUFFICIENT_DATA' then 'fewer than min_events units in the period'
            when state = 'EXHAUSTED' then 'budget remaining <= 0: change freeze'
            when from_state in ('EXHAUSTED', 'RECOVERING', 'AT_RISK') and is_period_reset
                then 'a new calendar period started'
            when state = 'RECOVERING'
                then 'budget remaining >= recover_remaining for recover_hours'
            when state = 'HEALTHY' and from_state in ('AT_RISK', 'RECOVERING')
                then 'no at-risk condition for clear_hours'
            when state = 'AT_RISK' and is_ticket_firing then 'a ticket burn-rate alert fires'
            when state = 'AT_RISK' then 'pace > 1 with remaining below at_risk_remaining'
            when from_state is null then 'first evaluated step'
            when from_state = 'INSUFFICIENT_DATA' then 'enough units in the period'
            else 'conditions cleared'
        end as reason

    from changes
    where from_state is null or from_state <> state

)

select * from final
