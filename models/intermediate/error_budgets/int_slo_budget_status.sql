-- One row per SLO: the budget over the current period at as_of, after and before adjustments.
-- Budget in units = (1 − T) · denominator; the denominator is the period's units so far for
-- Occurrences and RatioTimeslices (a calendar period's budget grows with its traffic: no
-- forecast), and the period's full slice count N = P / Δ for Timeslices (known in advance).
-- remaining = 1 − bad / budget, not clamped: negative when overspent; exactly 0 when the budget is
-- spent exactly (macros/error_budgets/budget_config.sql, budget_consumed).
with slos as (

    select * from {{ ref('int_slo_definitions') }}

),

period_counts as (

    select * from {{ ref('int_slo_window_counts') }}
    where window_name = 'period'

),

denominators as (

    select
        slos.*,
        period_counts.good,
        period_counts.total,
        period_counts.good_raw,
        period_counts.total_raw,
        case
            when slos.method = 'Timeslices'
                then slos.period_seconds / slos.slice_seconds
            else period_counts.total
        end as budget_denominator,
        case
            when slos.method = 'Timeslices'
                then slos.period_seconds / slos.slice_seconds
            else period_counts.total_raw
        end as budget_denominator_raw

    from slos
    inner join period_counts
        on slos.slo_id = period_counts.slo_id

),

final as (

    select
        slo_id,
        good,
        total,
        total - good as bad,
        good_raw,
        total_raw,
        total_raw - good_raw as bad_raw,
        {{ safe_ratio('good', 'total') }} as sli,
        {{ safe_ratio('good_raw', 'total_raw') }} as sli_raw,
        budget_denominator,
        {{ budget_units('budget_ratio', 'budget_denominator') }} as budget_total,
        {{ budget_units('budget_ratio', 'budget_denominator') }} - (total - good)
            as budget_remaining_units,
        {{ budget_consumed('total - good', 'budget_ratio', 'budget_denominator') }} as budget_consumed,
        1.0 - {{ budget_consumed('total - good', 'budget_ratio', 'budget_denominator') }}
            as budget_remaining,
        {{ budget_units('budget_ratio', 'budget_denominator_raw') }} as budget_total_raw,
        1.0 - {{ budget_consumed('total_raw - good_raw', 'budget_ratio', 'budget_denominator_raw') }}
            as budget_remaining_raw

    from denominators

)

select * from final
