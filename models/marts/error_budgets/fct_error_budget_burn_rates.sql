-- One row per SLO and window (5m, 30m, 1h, 2h, 6h, 1d, 3d and the whole period) ending at as_of:
-- good/total units, error ratio e = 1 − good/total, burn rate b = e / (1 − T), and the hours
-- until the remaining budget is gone if this burn rate held: r · P / b (0 when r ≤ 0, even for a
-- window without units; NULL when r > 0 and nothing burns).
with slos as (

    select * from {{ ref('int_slo_definitions') }}

),

counts as (

    select * from {{ ref('int_slo_window_counts') }}

),

status as (

    select * from {{ ref('int_slo_budget_status') }}

),

rates as (

    select
        counts.slo_id,
        counts.window_name,
        counts.window_order,
        counts.window_seconds,
        counts.window_start,
        slos.as_of as window_end,
        counts.good,
        counts.total,
        counts.total - counts.good as bad,
        -- bad / total, not 1 − good / total: 14 of 100 is 0.14, 1 − 0.86 is 0.14000000000000001.
        -- A Timeslices period is over its N slices, as its SLI and budget are (bad / N; no-data
        -- slices are neither good nor bad), so that remaining = 1 − the period's burn rate; its
        -- shorter windows are over the slices with data, as alerts should be.
        case
            when counts.window_name = 'period' and slos.method = 'Timeslices' then
                case when counts.total > 0 then (counts.total - counts.good) / status.budget_denominator end
            else {{ safe_ratio('counts.total - counts.good', 'counts.total') }}
        end as error_ratio,
        case
            when counts.window_name = 'period' and slos.method = 'Timeslices' then
                case when counts.total > 0 then (counts.total - counts.good) / status.budget_denominator end
            else {{ safe_ratio('counts.total - counts.good', 'counts.total') }}
        end / slos.budget_ratio as burn_rate,
        counts.total < slos.min_events as is_low_volume,
        status.budget_remaining,
        slos.period_seconds

    from counts
    inner join slos
        on counts.slo_id = slos.slo_id
    inner join status
        on counts.slo_id = status.slo_id

),

final as (

    select
        slo_id,
        window_name,
        window_order,
        window_seconds,
        window_start,
        window_end,
        good,
        total,
        bad,
        error_ratio,
        burn_rate,
        is_low_volume,
        case
            when budget_remaining is null then null
            -- exhausted: 0 whatever the window burns, also a window without units
            when budget_remaining <= 0 then 0.0
            when burn_rate is null or burn_rate = 0 then null
            else budget_remaining * period_seconds / burn_rate / 3600.0
        end as hours_to_exhaustion

    from rates

)

select * from final
