-- One row per SLO and hourly step t_s = as_of − s hours, s = 0 … history (plus the steps the
-- longest window needs behind it): the budget at t_s from the units known now (an outcome
-- key's final attempt, not the attempt that had ended by t_s). Units fall into hourly buckets
-- by age (bucket s holds units with as_of − unit_at in [s h, (s + 1) h)), so every window of
-- whole hours ending at a step is an exact sum of buckets:
--   rolling sums: cumulative sums from the oldest bucket, window(s, n) = cum(s) − cum(s + n);
--   calendar period so far: a running sum over the steps of the same period (in the SLO's time
--   zone), counting only units that begin in that period (a slice at its start, as in
--   int_slo_window_counts).
-- The ticket alerts (1d/2h, 3d/6h) are evaluated at each step for the policy states.
with slos as (

    select
        *,
        cast(window_seconds / 3600 as bigint) as window_hours,
        history_days * 24 as history_hours

    from {{ ref('int_slo_definitions') }}
    where as_of is not null

),

units as (

    select * from {{ ref('int_slo_units') }}

),

grid as (

    select
        slos.slo_id,
        steps.s,
        slos.as_of - {{ interval_of('steps.s', 'hour') }} as step_at,
        case
            when slos.window_kind = 'calendar' then
                {{ budget_period_start('slos.as_of - ' ~ interval_of('steps.s', 'hour'), 'slos.calendar_unit', 'slos.calendar_count', 'slos.time_zone', 'slos.calendar_anchor') }}
        end as calendar_period_start

    from slos
    {{ integer_series_join(
        '0', 'slos.history_hours + greatest(coalesce(slos.window_hours, 0), 72)', 'steps', 's'
    ) }}

),

buckets as (

    select
        units.slo_id,
        cast(floor({{ budget_seconds('units.unit_at', 'slos.as_of') }} / 3600) as bigint) as s,
        case
            when slos.window_kind = 'calendar' then
                {{ budget_period_start(
                    budget_unit_start('units.unit_at', 'slos.method', '1'),
                    'slos.calendar_unit', 'slos.calendar_count', 'slos.time_zone', 'slos.calendar_anchor') }}
        end as calendar_period_start,
        {{ exact_sum('units.good') }} as good,
        {{ exact_sum('units.total') }} as total,
        {{ exact_sum('units.good_raw') }} as good_raw,
        {{ exact_sum('units.total_raw') }} as total_raw

    from units
    inner join slos
        on units.slo_id = slos.slo_id
    where units.unit_at <= slos.as_of
    group by all

),

all_buckets as (

    select
        slo_id,
        s,
        {{ exact_sum('good') }} as good,
        {{ exact_sum('total') }} as total

    from buckets
    group by all

),

cumulative as (

    select
        grid.slo_id,
        grid.s,
        grid.step_at,
        grid.calendar_period_start,
        -- everything at or before step_at (buckets s and older), for rolling windows
        sum(coalesce(all_buckets.good, 0)) over oldest_first as cum_good,
        sum(coalesce(all_buckets.total, 0)) over oldest_first as cum_total,
        -- the calendar period of step_at so far
        sum(coalesce(period_buckets.good, 0)) over period_oldest_first as period_good,
        sum(coalesce(period_buckets.total, 0)) over period_oldest_first as period_total,
        sum(coalesce(period_buckets.good_raw, 0)) over period_oldest_first as period_good_raw,
        sum(coalesce(period_buckets.total_raw, 0)) over period_oldest_first as period_total_raw

    from grid
    left join all_buckets
        on grid.slo_id = all_buckets.slo_id
        and grid.s = all_buckets.s
    left join buckets as period_buckets
        on grid.slo_id = period_buckets.slo_id
        and grid.s = period_buckets.s
        and grid.calendar_period_start = period_buckets.calendar_period_start
    window
        oldest_first as (partition by grid.slo_id order by grid.s desc rows unbounded preceding),
        period_oldest_first as (
            partition by grid.slo_id, grid.calendar_period_start
            order by grid.s desc rows unbounded preceding
        )

),

raw_cumulative as (

    select
        grid.slo_id,
        grid.s,
        sum(coalesce(raw_buckets.good_raw, 0)) over oldest_first as cum_good_raw,
        sum(coalesce(raw_buckets.total_raw, 0)) over oldest_first as cum_total_raw

    from grid
    left join (
        select slo_id, s, {{ exact_sum('good_raw') }} as good_raw, {{ exact_sum('total_raw') }} as total_raw
        from buckets
        group by all
    ) as raw_buckets
        on grid.slo_id = raw_buckets.slo_id
        and grid.s = raw_buckets.s
    window oldest_first as (partition by grid.slo_id order by grid.s desc rows unbounded preceding)

),

windowed as (

    select
        slos.slo_id,
        now.s,
        now.step_at,
        slos.window_kind,
        slos.method,
        slos.budget_ratio,
        slos.slice_seconds,
        slos.min_events,
        case
            when slos.window_kind = 'rolling' then now.step_at - {{ interval_of('slos.window_seconds', 'second') }}
            else now.calendar_period_start
        end as period_start,
        case
            when slos.window_kind = 'rolling' then cast(slos.window_seconds as double)
            else {{ budget_seconds('now.calendar_period_start',
                budget_period_start('now.step_at', 'slos.calendar_unit', 'slos.calendar_count', 'slos.time_zone', 'slos.calendar_anchor', 1)) }}
        end as period_seconds,
        case
            when slos.window_kind = 'rolling' then now.cum_good - coalesce(at_w.cum_good, 0)
            else now.period_good
        end as good,
        case
            when slos.window_kind = 'rolling' then now.cum_total - coalesce(at_w.cum_total, 0)
            else now.period_total
        end as total,
        case
            when slos.window_kind = 'rolling' then raw_now.cum_good_raw - coalesce(raw_at_w.cum_good_raw, 0)
            else now.period_good_raw
        end as good_raw,
        case
            when slos.window_kind = 'rolling' then raw_now.cum_total_raw - coalesce(raw_at_w.cum_total_raw, 0)
            else now.period_total_raw
        end as total_raw,
        now.cum_total - coalesce(at_2h.cum_total, 0) as total_2h,
        now.cum_total - coalesce(at_2h.cum_total, 0) - (now.cum_good - coalesce(at_2h.cum_good, 0)) as bad_2h,
        now.cum_total - coalesce(at_6h.cum_total, 0) as total_6h,
        now.cum_total - coalesce(at_6h.cum_total, 0) - (now.cum_good - coalesce(at_6h.cum_good, 0)) as bad_6h,
        now.cum_total - coalesce(at_1d.cum_total, 0) as total_1d,
        now.cum_total - coalesce(at_1d.cum_total, 0) - (now.cum_good - coalesce(at_1d.cum_good, 0)) as bad_1d,
        now.cum_total - coalesce(at_3d.cum_total, 0) as total_3d,
        now.cum_total - coalesce(at_3d.cum_total, 0) - (now.cum_good - coalesce(at_3d.cum_good, 0)) as bad_3d,
        -- bad units from the current rolling window's start (as_of − W) up to step_at
        now.cum_total - now.cum_good - coalesce(window_start.cum_total - window_start.cum_good, 0)
            as bad_since_window_start,
        slos.history_hours,
        slos.window_hours

    from cumulative as now
    inner join slos
        on now.slo_id = slos.slo_id
    inner join raw_cumulative as raw_now
        on now.slo_id = raw_now.slo_id
        and now.s = raw_now.s
    left join cumulative as at_w
        on now.slo_id = at_w.slo_id
        and at_w.s = now.s + slos.window_hours
    left join raw_cumulative as raw_at_w
        on now.slo_id = raw_at_w.slo_id
        and raw_at_w.s = now.s + slos.window_hours
    left join cumulative as at_2h
        on now.slo_id = at_2h.slo_id
        and at_2h.s = now.s + 2
    left join cumulative as at_6h
        on now.slo_id = at_6h.slo_id
        and at_6h.s = now.s + 6
    left join cumulative as at_1d
        on now.slo_id = at_1d.slo_id
        and at_1d.s = now.s + 24
    left join cumulative as at_3d
        on now.slo_id = at_3d.slo_id
        and at_3d.s = now.s + 72
    left join cumulative as window_start
        on now.slo_id = window_start.slo_id
        and window_start.s = slos.window_hours
    where now.s <= slos.history_hours

),

budgets as (

    select
        *,
        -- N as in int_slo_definitions (period_slices): a calendar period's local days × 24 h / Δ
        case
            when method = 'Timeslices' and window_kind = 'calendar'
                then round(period_seconds / 86400) * (86400 / slice_seconds)
            when method = 'Timeslices' then period_seconds / slice_seconds
            else total
        end as budget_denominator,
        case
            when method = 'Timeslices' and window_kind = 'calendar'
                then round(period_seconds / 86400) * (86400 / slice_seconds)
            when method = 'Timeslices' then period_seconds / slice_seconds
            else total_raw
        end as budget_denominator_raw

    from windowed

),

final as (

    select
        slo_id,
        s,
        step_at,
        period_start,
        period_seconds,
        least({{ budget_seconds('period_start', 'step_at') }} / period_seconds, 1.0)
            as elapsed_fraction,
        good,
        total,
        good_raw,
        total_raw,
        -- no units in the period at t_s (no data): no remaining budget, as in int_slo_budget_status
        case when total > 0 then
            1.0 - {{ budget_consumed('total - good', 'budget_ratio', 'budget_denominator') }}
        end as budget_remaining,
        case when total_raw > 0 then
            1.0 - {{ budget_consumed('total_raw - good_raw', 'budget_ratio', 'budget_denominator_raw') }}
        end as budget_remaining_raw,
        bad_since_window_start,
        total >= min_events as is_sufficient,
        (bad_1d / nullif(total_1d, 0)) / budget_ratio as burn_rate_1d,
        coalesce(
            ({{ above_threshold(safe_ratio('bad_1d', 'total_1d'), '0.10 * period_seconds / 86400 * budget_ratio') }}
                and {{ above_threshold(safe_ratio('bad_2h', 'total_2h'), '0.10 * period_seconds / 86400 * budget_ratio') }})
            or ({{ above_threshold(safe_ratio('bad_3d', 'total_3d'), '0.10 * period_seconds / 259200 * budget_ratio') }}
                and {{ above_threshold(safe_ratio('bad_6h', 'total_6h'), '0.10 * period_seconds / 259200 * budget_ratio') }}),
            false
        ) and total >= min_events as is_ticket_firing

    from budgets

)

select * from final
