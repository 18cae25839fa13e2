-- One row per SLO and multi-window burn-rate alert (SRE Workbook approach 6): the factor
-- b* = f · P / w_long recomputed for the SLO's actual period P (its real length for calendar
-- windows), the error-ratio threshold b* · (1 − T), both windows' error ratios and burn rates,
-- and whether the alert fires: both windows above the threshold, strictly (above_threshold).
-- An alert can fire when its threshold is below 1 and, for Timeslices and RatioTimeslices, when
-- its short window is at least one slice long: a slice counts in the windows that hold its end,
-- so a shorter window is empty most of the time (with 1h slices the 5m window holds a slice for
-- 5 minutes an hour) and the alert could fire only then.
with slos as (

    select * from {{ ref('int_slo_definitions') }}

),

burn_rates as (

    select * from {{ ref('fct_error_budget_burn_rates') }}

),

status as (

    select * from {{ ref('int_slo_budget_status') }}

),

alerts as (

    select
        slos.slo_id,
        alert_windows.alert_name,
        alert_windows.severity,
        alert_windows.alert_order,
        cast(alert_windows.budget_fraction as double) as budget_fraction,
        alert_windows.long_window,
        alert_windows.short_window,
        -- rounded as the budget ratio is (0.1 · 28 is 2.8000000000000003 in doubles)
        round(alert_windows.budget_fraction * slos.period_seconds / alert_windows.long_seconds, 12)
            as burn_rate_threshold,
        round(
            alert_windows.budget_fraction * slos.period_seconds / alert_windows.long_seconds
            * slos.budget_ratio,
            12
        ) as error_ratio_threshold,
        alert_windows.short_seconds,
        slos.method,
        slos.slice_seconds,
        slos.min_events,
        status.total as period_total

    from slos
    cross join ({{ budget_alert_windows() }}) as alert_windows
    inner join status
        on slos.slo_id = status.slo_id

),

final as (

    select
        alerts.slo_id,
        alerts.alert_name,
        alerts.severity,
        alerts.alert_order,
        alerts.budget_fraction,
        alerts.long_window,
        alerts.short_window,
        alerts.burn_rate_threshold,
        alerts.error_ratio_threshold,
        alerts.error_ratio_threshold < 1 as can_fire,
        -- a slice counts in the windows holding its end: a short window shorter than a slice
        -- holds one only just after a slice ends (and the alert can fire only then)
        coalesce(alerts.method <> 'Occurrences' and alerts.short_seconds < alerts.slice_seconds, false)
            as fires_at_slice_ends_only,
        long_rates.error_ratio as long_error_ratio,
        short_rates.error_ratio as short_error_ratio,
        long_rates.burn_rate as long_burn_rate,
        short_rates.burn_rate as short_burn_rate,
        coalesce(
            {{ above_threshold('long_rates.error_ratio', 'alerts.error_ratio_threshold') }}
            and {{ above_threshold('short_rates.error_ratio', 'alerts.error_ratio_threshold') }}
            and alerts.period_total >= alerts.min_events,
            false
        ) as is_firing

    from alerts
    inner join burn_rates as long_rates
        on alerts.slo_id = long_rates.slo_id
        and alerts.long_window = long_rates.window_name
    inner join burn_rates as short_rates
        on alerts.slo_id = short_rates.slo_id
        and alerts.short_window = short_rates.window_name

)

select * from final
