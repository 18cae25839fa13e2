-- One row per SLO objective (error budget) from the SLO file, evaluated at one instant `as_of`:
-- the var flowledger_budget_as_of when given (reviews, tests), else the newest run or event time
-- in the data not later than the wall clock plus a day (credible_time: one record dated 2062
-- would set it). Adds the current compliance period: rolling (as_of − W, as_of], or the
-- calendar day/week/month/quarter/year holding as_of in the SLO's IANA time zone
-- (periods anchored at the SLO's calendar.startTime when it has one).
with config as (

    {{ budget_slo_rows() }}

),

data_end as (

    select greatest(
        (
            select max(coalesce(ended_at, started_at))
            from {{ ref('stg_flowledger__flow_runs') }}
            where {{ credible_time('coalesce(ended_at, started_at)') }}
        ),
        (
            select max(occurred_at)
            from {{ ref('stg_flowledger__business_events') }}
            where {{ credible_time('occurred_at') }}
        )
    ) as data_as_of

),

evaluated_at as (

    select
        coalesce(
            cast({{ budget_literal(var('flowledger_budget_as_of', none)) }} as timestamp),
            data_as_of
        ) as as_of,
        cast({{ var('flowledger_budget_history_days', 90) }} as bigint) as history_days

    from data_end

),

periods as (

    select
        config.*,
        evaluated_at.as_of,
        evaluated_at.history_days,
        case
            when config.window_kind = 'rolling'
                then evaluated_at.as_of - {{ interval_of('config.window_seconds', 'second') }}
            else {{ budget_period_start('evaluated_at.as_of', 'config.calendar_unit', 'config.calendar_count', 'config.time_zone', 'config.calendar_anchor') }}
        end as period_start,
        case
            when config.window_kind = 'rolling' then evaluated_at.as_of
            else {{ budget_period_start('evaluated_at.as_of', 'config.calendar_unit', 'config.calendar_count', 'config.time_zone', 'config.calendar_anchor', 1) }}
        end as period_end,
        case
            when config.window_kind = 'rolling'
                then evaluated_at.as_of - {{ interval_of('config.window_seconds', 'second') }}
                    - {{ interval_of('evaluated_at.history_days * 24', 'hour') }}
            else {{ budget_period_start(
                'evaluated_at.as_of - ' ~ interval_of('evaluated_at.history_days * 24', 'hour'),
                'config.calendar_unit', 'config.calendar_count', 'config.time_zone', 'config.calendar_anchor') }}
        end as horizon_start

    from config
    cross join evaluated_at

),

-- Time slices are laid out from each local day's start in the SLO's time zone (local
-- midnight, or the calendar.startTime's time of day; UTC days for rolling windows, which is the
-- UNIX epoch's alignment): a day holds 24 h / Δ slices, the last one ending at the next day's
-- start, so every slice lies in one calendar period and a day the clocks change has slices of
-- 23 h or 25 h in all (its last slice an hour shorter or longer; a spring-forward day's slices
-- of 1 h or less in its lost hour never happen, and hold no data). N is whole: a calendar
-- period's local days × 24 h / Δ (the period's length in days rounded: DST moves it by an hour
-- at most), a rolling window's W / Δ (config.py refuses a W that is not a multiple of Δ).
slice_days as (

    select
        *,
        case when slice_seconds is not null and as_of is not null then
            {{ budget_period_start('as_of', "'day'", '1', 'time_zone', 'calendar_anchor') }}
        end as as_of_slice_day_start

    from periods

),

final as (

    select
        *,
        case
            when slice_seconds is null then null
            when window_kind = 'calendar'
                then round({{ budget_seconds('period_start', 'period_end') }} / 86400)
                    * (86400 / slice_seconds)
            else {{ budget_seconds('period_start', 'period_end') }} / slice_seconds
        end as period_slices,
        -- the slices of the period that have ended by as_of (all N of a rolling window)
        case
            when slice_seconds is null then null
            when window_kind = 'calendar'
                then round({{ budget_seconds('period_start', 'as_of_slice_day_start') }} / 86400)
                    * (86400 / slice_seconds)
                    + least(
                        floor({{ budget_seconds('as_of_slice_day_start', 'as_of') }} / slice_seconds),
                        86400 / slice_seconds - 1
                    )
            else {{ budget_seconds('period_start', 'period_end') }} / slice_seconds
        end as elapsed_slices,
        {{ budget_seconds('period_start', 'period_end') }} as period_seconds,
        case
            when window_kind = 'rolling' then 1.0
            else {{ budget_seconds('period_start', 'as_of') }}
                / {{ budget_seconds('period_start', 'period_end') }}
        end as elapsed_fraction,
        {{ budget_ratio('target') }} as budget_ratio

    from slice_days

)

select * from final
