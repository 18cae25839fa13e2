-- One row per SLO: the budget over the current period at as_of, after and before adjustments.
-- Budget in units = (1 − T) · denominator; the denominator is the period's units so far for
-- Occurrences and RatioTimeslices (a calendar period's budget grows with its traffic: no
-- forecast), and the period's full slice count N for Timeslices (known in advance; see
-- int_slo_definitions, period_slices), whose SLI is 1 − bad slices / N to match.
-- remaining = 1 − bad / budget, not clamped: negative when overspent; exactly 0 when the budget is
-- spent exactly (macros/error_budgets/budget_config.sql, budget_consumed).
-- A period without units (no data: the flow never ran, or no Timeslices slice had events) has
-- no SLI, no budget in units and no consumed or remaining budget (NULL), for every method: no
-- data is not good.
-- Timeslices still know their budget in slices, (1 − T) · N, in advance.
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
            when slos.method = 'Timeslices' then slos.period_slices
            else period_counts.total
        end as budget_denominator,
        case
            when slos.method = 'Timeslices' then slos.period_slices
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
        -- Timeslices: 1 − bad / N, the share of the window's N slices that are not bad (no-data
        -- slices are neither good nor bad, as for the budget): SLI ≥ T exactly when the
        -- budget of (1 − T) · N slices is not overspent
        case
            when method = 'Timeslices' then
                case when total > 0 then 1.0 - (total - good) / budget_denominator end
            else {{ safe_ratio('good', 'total') }}
        end as sli,
        case
            when method = 'Timeslices' then
                case when total_raw > 0 then 1.0 - (total_raw - good_raw) / budget_denominator_raw end
            else {{ safe_ratio('good_raw', 'total_raw') }}
        end as sli_raw,
        -- the slice counts behind a Timeslices or RatioTimeslices SLI: N, the slices ended by
        -- as_of, those with data (after adjustments), good and bad (Timeslices), no data
        period_slices as slices_total,
        elapsed_slices as slices_elapsed,
        case when slice_seconds is not null then total end as slices_with_data,
        case when method = 'Timeslices' then good end as slices_good,
        case when method = 'Timeslices' then total - good end as slices_bad,
        case when slice_seconds is not null then elapsed_slices - total end as slices_without_data,
        budget_denominator,
        -- no units (no data): no budget in units either, except Timeslices' (1 − T) · N slices,
        -- known in advance
        case when method = 'Timeslices' or total > 0 then
            {{ budget_units('budget_ratio', 'budget_denominator') }}
        end as budget_total,
        case when total > 0 then {{ budget_units('budget_ratio', 'budget_denominator') }} - (total - good) end
            as budget_remaining_units,
        case when total > 0 then
            {{ budget_consumed('total - good', 'budget_ratio', 'budget_denominator') }}
        end as budget_consumed,
        case when total > 0 then
            1.0 - {{ budget_consumed('total - good', 'budget_ratio', 'budget_denominator') }}
        end as budget_remaining,
        case when method = 'Timeslices' or total_raw > 0 then
            {{ budget_units('budget_ratio', 'budget_denominator_raw') }}
        end as budget_total_raw,
        case when total_raw > 0 then
            1.0 - {{ budget_consumed('total_raw - good_raw', 'budget_ratio', 'budget_denominator_raw') }}
        end as budget_remaining_raw

    from denominators

)

select * from final
