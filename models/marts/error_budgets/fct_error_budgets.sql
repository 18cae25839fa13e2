-- One row per SLO objective: the error budget of the current period at as_of. Good/total, SLI,
-- budget total/consumed/remaining (not clamped: negative when overspent), the same before
-- adjustments, burn rates per window, the multi-window alerts firing, hours to exhaustion at the
-- 1h burn rate, the policy state, feasibility and data-coverage checks, and in-flight cases.
with slos as (

    select * from {{ ref('int_slo_definitions') }}

),

status as (

    select * from {{ ref('int_slo_budget_status') }}

),

burn_rates as (

    select * from {{ ref('fct_error_budget_burn_rates') }}

),

alerts as (

    select * from {{ ref('fct_error_budget_alerts') }}

),

states as (

    select * from {{ ref('int_slo_policy_states') }}

),

events as (

    select * from {{ ref('int_slo_events') }}

),

attribution as (

    select * from {{ ref('fct_error_budget_attribution') }}

),

rates_wide as (

    select
        slo_id,
        max(case when window_name = '5m' then burn_rate end) as burn_rate_5m,
        max(case when window_name = '30m' then burn_rate end) as burn_rate_30m,
        max(case when window_name = '1h' then burn_rate end) as burn_rate_1h,
        max(case when window_name = '2h' then burn_rate end) as burn_rate_2h,
        max(case when window_name = '6h' then burn_rate end) as burn_rate_6h,
        max(case when window_name = '1d' then burn_rate end) as burn_rate_1d,
        max(case when window_name = '3d' then burn_rate end) as burn_rate_3d,
        max(case when window_name = 'period' then burn_rate end) as burn_rate_period,
        max(case when window_name = '1h' then hours_to_exhaustion end) as hours_to_exhaustion

    from burn_rates
    group by slo_id

),

alerts_wide as (

    select
        slo_id,
        bool_or(is_firing and severity = 'page') as is_page_firing,
        bool_or(is_firing and severity = 'ticket') as is_ticket_firing,
        coalesce({{ string_agg_ordered('case when is_firing then alert_name end', "', '", ['alert_order']) }}, '')
            as firing_alerts,
        coalesce({{ string_agg_ordered('case when not can_fire then alert_name end', "', '", ['alert_order']) }}, '')
            as alerts_that_cannot_fire,
        coalesce({{ string_agg_ordered('case when can_fire and fires_at_slice_ends_only then alert_name end', "', '", ['alert_order']) }}, '')
            as alerts_at_slice_ends_only

    from alerts
    group by slo_id

),

current_states as (

    select
        slo_id,
        max_by(state, step_index) as state,
        max_by(step_at, step_index) as evaluated_at

    from states
    group by slo_id

),

state_runs as (

    select
        states.slo_id,
        min(states.step_at) as state_since

    from states
    inner join current_states
        on states.slo_id = current_states.slo_id
    where states.step_index > coalesce((
        select max(earlier.step_index)
        from states as earlier
        where earlier.slo_id = states.slo_id
            and earlier.state <> current_states.state
    ), -1)
    group by states.slo_id

),

in_flight as (

    select
        slo_id,
        count(*) filter (where not is_decided) as in_flight_cases,
        count(*) filter (where not is_decided and is_good) as in_flight_already_met

    from events
    group by slo_id

),

coverage as (

    select
        slos.slo_id,
        case
            -- the oldest row ever landed, purged ones included (`flowledger purge` keeps the
            -- units before its cut-off in int_slo_units, so the window stays covered)
            when slos.indicator = 'event_pair' then least(
                (
                    select min(occurred_at)
                    from {{ ref('stg_flowledger__business_events') }} as business_events
                    where business_events.event_type = slos.start_event
                ),
                (
                    select min(first_at)
                    from {{ purged_history('business_events') }} as purged_events
                    where purged_events.event_type = slos.start_event
                )
            )
            else least(
                (
                    select min(started_at)
                    from {{ ref('stg_flowledger__flow_runs') }} as runs
                    where runs.flow_id = slos.flow_id
                ),
                (
                    select min(first_at)
                    from {{ purged_history('flow_runs') }} as purged_runs
                    where purged_runs.flow_id = slos.flow_id
                )
            )
        end as data_starts_at

    from slos

),

top_contributors as (

    select
        slo_id,
        {{ string_agg_ordered("value || ' (' || " ~ decimal_round('100 * share_of_consumed', 1) ~ " || ' %)'", "', '", ['rank_in_dimension']) }}
            as top_failing_steps

    from attribution
    where dimension = 'failing_step'
        and rank_in_dimension <= 3
    group by slo_id

),

final as (

    select
        slos.slo_id,
        slos.slo_name,
        slos.display_name,
        slos.flow_id,
        slos.indicator,
        slos.count_by,
        slos.threshold_ms,
        slos.target,
        slos.window_text,
        slos.window_kind,
        slos.time_zone,
        slos.calendar_anchor,
        slos.method,
        slos.slice_seconds,
        slos.slice_target,
        slos.as_of,
        slos.period_start,
        slos.period_end,
        slos.period_seconds,
        slos.elapsed_fraction,
        status.good,
        status.total,
        status.bad,
        status.sli,
        status.good_raw,
        status.total_raw,
        status.bad_raw,
        status.sli_raw,
        cast(status.slices_total as double) as slices_total,
        cast(status.slices_elapsed as double) as slices_elapsed,
        cast(status.slices_with_data as double) as slices_with_data,
        cast(status.slices_good as double) as slices_good,
        cast(status.slices_bad as double) as slices_bad,
        cast(status.slices_without_data as double) as slices_without_data,
        status.budget_total,
        status.budget_remaining_units,
        status.budget_consumed,
        status.budget_remaining,
        status.budget_total_raw,
        status.budget_remaining_raw,
        rates_wide.burn_rate_5m,
        rates_wide.burn_rate_30m,
        rates_wide.burn_rate_1h,
        rates_wide.burn_rate_2h,
        rates_wide.burn_rate_6h,
        rates_wide.burn_rate_1d,
        rates_wide.burn_rate_3d,
        rates_wide.burn_rate_period,
        rates_wide.hours_to_exhaustion,
        coalesce(alerts_wide.is_page_firing, false) as is_page_firing,
        coalesce(alerts_wide.is_ticket_firing, false) as is_ticket_firing,
        coalesce(alerts_wide.firing_alerts, '') as firing_alerts,
        coalesce(alerts_wide.alerts_that_cannot_fire, '') as alerts_that_cannot_fire,
        coalesce(alerts_wide.alerts_at_slice_ends_only, '') as alerts_at_slice_ends_only,
        coalesce(current_states.state, 'INSUFFICIENT_DATA') as state,
        state_runs.state_since,
        coalesce(current_states.state, '') = 'EXHAUSTED' as is_frozen,
        -- Feasibility: the failures the budget allows over a full period at this traffic.
        case
            when slos.method = 'Timeslices' then status.budget_denominator
            else status.total / nullif(slos.elapsed_fraction, 0)
        end as expected_units,
        slos.budget_ratio * case
            when slos.method = 'Timeslices' then status.budget_denominator
            else status.total / nullif(slos.elapsed_fraction, 0)
        end as allowed_failures,
        case
            when status.total = 0 then 'no events in the period: the SLI is unknown, not good'
            when slos.budget_ratio * case
                    when slos.method = 'Timeslices' then status.budget_denominator
                    else status.total / nullif(slos.elapsed_fraction, 0)
                end < 1
                then 'at ' || {{ decimal_round('100 * slos.target', 3) }} || ' % of about '
                    || cast(round(case
                        when slos.method = 'Timeslices' then status.budget_denominator
                        else status.total / nullif(slos.elapsed_fraction, 0)
                    end) as bigint) || ' units per period the budget allows '
                    || {{ decimal_round("slos.budget_ratio * case
                        when slos.method = 'Timeslices' then status.budget_denominator
                        else status.total / nullif(slos.elapsed_fraction, 0)
                    end", 2) }} || ' failures: one failure breaches the SLO'
        end as feasibility_warning,
        coverage.data_starts_at,
        coalesce(coverage.data_starts_at <= slos.period_start, false) as is_window_covered,
        coverage.data_starts_at is not null as is_flow_known,
        coalesce(in_flight.in_flight_cases, 0) as in_flight_cases,
        coalesce(in_flight.in_flight_already_met, 0) as in_flight_already_met,
        top_contributors.top_failing_steps,
        slos.min_events,
        slos.dashboard_url

    from slos
    inner join status
        on slos.slo_id = status.slo_id
    left join rates_wide
        on slos.slo_id = rates_wide.slo_id
    left join alerts_wide
        on slos.slo_id = alerts_wide.slo_id
    left join current_states
        on slos.slo_id = current_states.slo_id
    left join state_runs
        on slos.slo_id = state_runs.slo_id
    left join in_flight
        on slos.slo_id = in_flight.slo_id
    left join coverage
        on slos.slo_id = coverage.slo_id
    left join top_contributors
        on slos.slo_id = top_contributors.slo_id

)

select * from final
