-- One row per SLO and hourly step (oldest first, step_index 0 = as_of − history): the policy
-- state, evaluated step by step with hysteresis (docs: error_budget_policy):
--   INSUFFICIENT_DATA  fewer than min_events units in the period;
--   EXHAUSTED          remaining ≤ 0 (change freeze);
--   from EXHAUSTED     → RECOVERING once remaining ≥ recover_remaining has held recover_hours
--                      (from its first hourly step on: 24 h later, not 23), or a fresh
--                      evaluation when a calendar period starts;
--   from RECOVERING / AT_RISK → HEALTHY once clear_hours have passed without the at-risk
--                      condition, in that state (RECOVERING lasts at least clear_hours);
--   otherwise          AT_RISK when (pace > 1 and remaining < at_risk_remaining) or a ticket alert
--                      fires, where pace = consumed / elapsed fraction of a calendar period, and
--                      the 1d burn rate for a rolling window (whose elapsed fraction is always 1).
with recursive series as (

    select * from {{ ref('int_slo_series') }}

),

slos as (

    select * from {{ ref('int_slo_definitions') }}

),

conditions as (

    select
        series.slo_id,
        series.s,
        series.step_at,
        series.period_start,
        series.budget_remaining,
        series.is_sufficient,
        series.is_ticket_firing,
        case
            when slos.window_kind = 'calendar'
                then (1.0 - series.budget_remaining) / nullif(series.elapsed_fraction, 0)
            else series.burn_rate_1d
        end as pace,
        coalesce(
            (case
                when slos.window_kind = 'calendar'
                    then (1.0 - series.budget_remaining) / nullif(series.elapsed_fraction, 0)
                else series.burn_rate_1d
            end > 1
                and series.budget_remaining < slos.at_risk_remaining)
            or series.is_ticket_firing,
            false
        ) as is_at_risk_condition,
        coalesce(series.budget_remaining >= slos.recover_remaining, false) as is_recovered_condition,
        slos.window_kind = 'calendar'
            and series.period_start <> lag(series.period_start) over step_order as is_period_reset,
        slos.recover_hours,
        slos.clear_hours,
        cast(row_number() over step_order - 1 as bigint) as step_index

    from series
    inner join slos
        on series.slo_id = slos.slo_id
    window step_order as (partition by series.slo_id order by series.s desc)

),

streaks as (

    select
        *,
        -- hours a condition has held: 0 at the first hourly step it holds, 24 a day later
        case
            when is_at_risk_condition then 0
            else step_index - coalesce(max(case when is_at_risk_condition then step_index end) over upto, -1) - 1
        end as clear_streak_hours,
        case
            when not is_recovered_condition then 0
            else step_index - coalesce(max(case when not is_recovered_condition then step_index end) over upto, -1) - 1
        end as recovered_streak_hours

    from conditions
    window upto as (partition by slo_id order by step_index rows unbounded preceding)

),

{{ budget_policy_states('streaks') }},

final as (

    select
        streaks.slo_id,
        streaks.step_index,
        streaks.s,
        streaks.step_at,
        streaks.budget_remaining,
        streaks.pace,
        streaks.is_ticket_firing,
        streaks.is_at_risk_condition,
        streaks.is_period_reset,
        streaks.is_sufficient,
        streaks.clear_streak_hours,
        streaks.recovered_streak_hours,
        states.state

    from streaks
    inner join states
        on streaks.slo_id = states.slo_id
        and streaks.step_index = states.step_index

)

select * from final
