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

final as (

    select
        *,
        {{ budget_seconds('period_start', 'period_end') }} as period_seconds,
        case
            when window_kind = 'rolling' then 1.0
            else {{ budget_seconds('period_start', 'as_of') }}
                / {{ budget_seconds('period_start', 'period_end') }}
        end as elapsed_fraction,
        {{ budget_ratio('target') }} as budget_ratio

    from periods

)

select * from final
