-- One row per SLO and hourly step back from as_of over the history: the budget remaining as
-- it stood then (after and before adjustments), the ticket-alert condition and the policy
-- state; plus, for the steps inside the current period, the burn-down: remaining budget of the
-- current period as it was spent up to the step, and the ideal line (budget spent evenly).
-- Rolling windows burn down from as_of − W against the window's final denominator, so the last
-- point equals the current remaining budget; calendar periods burn down from their start.
with slos as (

    select * from {{ ref('int_slo_definitions') }}

),

series as (

    select * from {{ ref('int_slo_series') }}

),

states as (

    select * from {{ ref('int_slo_policy_states') }}

),

status as (

    select * from {{ ref('int_slo_budget_status') }}

),

final as (

    select
        series.slo_id,
        series.s as hours_before_as_of,
        series.step_at,
        series.period_start,
        series.good,
        series.total,
        series.budget_remaining,
        series.budget_remaining_raw,
        series.is_ticket_firing,
        states.state,
        series.step_at >= slos.period_start as is_current_period,
        case
            when series.step_at < slos.period_start then null
            -- the current period has no data: its burn-down is unknown, not a full budget
            when status.budget_remaining is null then null
            when slos.window_kind = 'calendar' then series.budget_remaining
            else 1.0 - round({{ safe_ratio('series.bad_since_window_start', 'status.budget_total') }}, 12)
        end as burndown_remaining,
        case
            when series.step_at < slos.period_start then null
            else 1.0 - {{ budget_seconds('slos.period_start', 'series.step_at') }} / slos.period_seconds
        end as ideal_remaining

    from series
    inner join slos
        on series.slo_id = slos.slo_id
    inner join status
        on series.slo_id = status.slo_id
    left join states
        on series.slo_id = states.slo_id
        and series.s = states.s

)

select * from final
