-- One row per SLO and window ending at as_of: the 5m … 3d burn-rate windows (as_of − w, as_of]
-- and the whole current period ('period': rolling (as_of − W, as_of], calendar [start, as_of]),
-- with good and total units after and before adjustments. A unit is in a window when it is
-- stamped after the window's start (a slice ending at the start lies wholly before it); in a
-- calendar period when it begins in it (macros/error_budgets/budget_config.sql,
-- budget_unit_start): an event at the period's start instant is the period's, the slice ending
-- then is the previous period's.
with slos as (

    select * from {{ ref('int_slo_definitions') }}

),

units as (

    select * from {{ ref('int_slo_units') }}

),

windows as (

    select
        slos.slo_id,
        burn_windows.window_name,
        burn_windows.window_order,
        cast(burn_windows.window_seconds as double) as window_seconds,
        slos.as_of - {{ interval_of('burn_windows.window_seconds', 'second') }} as window_start,
        false as is_calendar_period

    from slos
    cross join ({{ budget_burn_windows() }}) as burn_windows

    union all

    select
        slo_id,
        'period' as window_name,
        8 as window_order,
        {{ budget_seconds('period_start', 'as_of') }} as window_seconds,
        period_start as window_start,
        window_kind = 'calendar' as is_calendar_period

    from slos

),

counted as (

    select
        windows.slo_id,
        windows.window_name,
        windows.window_order,
        windows.window_seconds,
        windows.window_start,
        coalesce({{ exact_sum('units.good') }}, 0) as good,
        coalesce({{ exact_sum('units.total') }}, 0) as total,
        coalesce({{ exact_sum('units.good_raw') }}, 0) as good_raw,
        coalesce({{ exact_sum('units.total_raw') }}, 0) as total_raw

    from windows
    inner join slos
        on windows.slo_id = slos.slo_id
    left join units
        on windows.slo_id = units.slo_id
        and units.unit_at <= slos.as_of
        and case
            when windows.is_calendar_period
                -- a slice's last second (slices tile the periods but may be an hour shorter
                -- or longer than Δ on a DST day, so its end − Δ is not its start)
                then {{ budget_unit_start('units.unit_at', 'slos.method', '1') }}
                    >= windows.window_start
            else units.unit_at > windows.window_start
        end
    group by all

)

select * from counted
