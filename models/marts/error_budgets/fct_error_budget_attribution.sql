-- One row per SLO, attribution dimension (failing_step, error_type, connector, flow_version) and
-- value: the part of the consumed budget of the current period that the value's bad events
-- spent. Each bad event carries a weight, so that per dimension the parts add up exactly to the
-- budget consumed: Occurrences 1; Timeslices 1 / (bad events in its bad slice), 0 in a good
-- slice; RatioTimeslices 1 / (events in its slice). budget_consumed = Σ weight / budget_total.
-- Adjusted events (maintenance, vendor incidents) are left out, as in the adjusted budget.
with slos as (

    select * from {{ ref('int_slo_definitions') }}

),

status as (

    select * from {{ ref('int_slo_budget_status') }}

),

events as (

    select
        events.*,
        slos.method,
        slos.slice_seconds,
        slos.slice_target,
        slos.window_kind,
        slos.period_start,
        slos.as_of,
        case
            when slos.method <> 'Occurrences' then
                {{ budget_period_start('events.event_at', "'day'", '1', 'slos.time_zone', 'slos.calendar_anchor') }}
        end as day_start,
        case
            when slos.method <> 'Occurrences' then
                {{ budget_period_start('events.event_at', "'day'", '1', 'slos.time_zone', 'slos.calendar_anchor', 1) }}
        end as day_end

    from {{ ref('int_slo_events') }} as events
    inner join slos
        on events.slo_id = slos.slo_id
    where events.is_decided
        and not events.is_adjusted

),

-- each event's slice, laid out from its local day's start as in int_slo_units
sliced_events as (

    select
        *,
        {{ budget_slice_end('event_at', 'day_start', 'day_end') }} as slice_end

    from events

),

in_period_events as (

    -- Occurrences count at the event's time; slices at their end, as in int_slo_units; a
    -- calendar period holds the units that begin in it, as in int_slo_window_counts.
    select *
    from sliced_events
    where coalesce(slice_end, event_at) <= as_of
        and case
            when window_kind = 'calendar'
                then {{ budget_unit_start('coalesce(slice_end, event_at)', 'method', '1') }}
                    >= period_start
            else coalesce(slice_end, event_at) > period_start
        end

),

-- the events and bad events of each slice, grouped apart and joined back: a window partitioned by
-- slice would also sort every Occurrences event (no slice: one partition per SLO)
slice_counts as (

    select
        slo_id,
        slice_end,
        count(*) as slice_events,
        sum(case when is_good then 0 else 1 end) as slice_bad_events

    from in_period_events
    where slice_end is not null
    group by slo_id, slice_end

),

in_period as (

    select
        in_period_events.*,
        slice_counts.slice_events,
        slice_counts.slice_bad_events

    from in_period_events
    left join slice_counts
        on in_period_events.slo_id = slice_counts.slo_id
        and in_period_events.slice_end = slice_counts.slice_end

),

weighted as (

    select
        *,
        -- a double on every engine (Spark would keep 1.0 / n as a decimal)
        cast(case
            when is_good then 0.0
            when method = 'Occurrences' then 1.0
            when method = 'RatioTimeslices' then 1.0 / slice_events
            when (slice_events - slice_bad_events) / slice_events >= slice_target then 0.0
            else 1.0 / slice_bad_events
        end as double) as weight

    from in_period

),

long_form as (

    select slo_id, 'failing_step' as dimension, failing_step as value, weight from weighted where weight > 0
    union all
    select slo_id, 'error_type', error_type, weight from weighted where weight > 0
    union all
    select slo_id, 'connector', connector, weight from weighted where weight > 0
    union all
    select slo_id, 'flow_version', flow_version, weight from weighted where weight > 0

),

summed as (

    select
        long_form.slo_id,
        long_form.dimension,
        long_form.value,
        {{ exact_sum('long_form.weight') }} as bad_units,
        count(*) as bad_events

    from long_form
    group by all

),

final as (

    select
        summed.slo_id,
        summed.dimension,
        summed.value,
        summed.bad_units,
        summed.bad_events,
        summed.bad_units / status.budget_total as budget_consumed,
        -- the dimension's total summed exactly, as bad_units is (macros/exact_sum.sql)
        summed.bad_units / cast(
            sum(cast(summed.bad_units as decimal(38, 12))) over per_dimension as double
        ) as share_of_consumed,
        cast(row_number() over (
            partition by summed.slo_id, summed.dimension
            order by summed.bad_units desc, summed.value
        ) as bigint) as rank_in_dimension

    from summed
    inner join status
        on summed.slo_id = status.slo_id
    window per_dimension as (partition by summed.slo_id, summed.dimension)

)

select * from final
