-- One row per SLO and budgeting unit between the SLO's horizon start and as_of: what the budget
-- counts. `good` and `total` are after declared adjustments (adjusted events are left out),
-- `good_raw` and `total_raw` before.
-- After `flowledger purge`, the units before the retention cut-off of the SLO's data (business
-- events for an event pair, runs and steps for a run SLO), and up to a day (or the longest
-- event-pair deadline) after it, are kept as the last build made them from the complete
-- data (their events are gone), within each SLO's horizon: the budgets, series and burn rates
-- of the retained periods stay what they were.
--   Occurrences: one unit per decided event at its time (total 1, good 0 or 1).
--   Timeslices: one unit per slice of `slice_seconds` (aligned to the UNIX epoch, counted at its
--     end), good when its good/total ratio reaches slice_target; a slice without events is good.
--   RatioTimeslices: one unit per slice with events; good is the slice's good/total ratio.
with slos as (

    select * from {{ ref('int_slo_definitions') }}

),

events as (

    select * from {{ ref('int_slo_events') }}

),

decided as (

    select
        events.*,
        slos.method,
        slos.slice_seconds,
        slos.slice_target

    from events
    inner join slos
        on events.slo_id = slos.slo_id
    where events.is_decided
        and events.event_at > slos.horizon_start
        and events.event_at <= slos.as_of

),

occurrence_units as (

    select
        slo_id,
        event_at as unit_at,
        case when is_adjusted or not is_good then 0.0 else 1.0 end as good,
        case when is_adjusted then 0.0 else 1.0 end as total,
        case when is_good then 1.0 else 0.0 end as good_raw,
        1.0 as total_raw

    from decided
    where method = 'Occurrences'

),

slice_counts as (

    select
        slo_id,
        {{ budget_slice_end('event_at', 'slice_seconds') }} as slice_end,
        sum(case when is_adjusted then 0 else 1 end) as events_adjusted,
        sum(case when is_adjusted or not is_good then 0 else 1 end) as good_adjusted,
        count(*) as events_raw,
        sum(case when is_good then 1 else 0 end) as good_events_raw

    from decided
    where method in ('Timeslices', 'RatioTimeslices')
    group by all

),

slice_grid as (

    select
        slos.slo_id,
        slos.method,
        slos.slice_target,
        {{ timestamp_from_microseconds('slice_index * slos.slice_seconds * 1000000') }} as slice_end

    from slos
    {{ integer_series_join(
        integer_divide(epoch_microseconds('slos.horizon_start'), '(slos.slice_seconds * 1000000)') ~ ' + 1',
        integer_divide(epoch_microseconds('slos.as_of'), '(slos.slice_seconds * 1000000)'),
        'slice_indexes', 'slice_index'
    ) }}
    where slos.method in ('Timeslices', 'RatioTimeslices')
        and slos.as_of is not null

),

slices as (

    select
        slice_grid.slo_id,
        slice_grid.method,
        slice_grid.slice_end as unit_at,
        coalesce(slice_counts.events_adjusted, 0) as events_adjusted,
        coalesce(slice_counts.good_adjusted, 0) as good_adjusted,
        coalesce(slice_counts.events_raw, 0) as events_raw,
        coalesce(slice_counts.good_events_raw, 0) as good_events_raw,
        slice_grid.slice_target

    from slice_grid
    left join slice_counts
        on slice_grid.slo_id = slice_counts.slo_id
        and slice_grid.slice_end = slice_counts.slice_end

),

slice_units as (

    select
        slo_id,
        unit_at,
        case
            when method = 'RatioTimeslices' then
                case when events_adjusted = 0 then 0.0 else good_adjusted / events_adjusted end
            when events_adjusted = 0 or good_adjusted / events_adjusted >= slice_target then 1.0
            else 0.0
        end as good,
        case
            when method = 'RatioTimeslices' and events_adjusted = 0 then 0.0
            else 1.0
        end as total,
        case
            when method = 'RatioTimeslices' then
                case when events_raw = 0 then 0.0 else good_events_raw / events_raw end
            when events_raw = 0 or good_events_raw / events_raw >= slice_target then 1.0
            else 0.0
        end as good_raw,
        case
            when method = 'RatioTimeslices' and events_raw = 0 then 0.0
            else 1.0
        end as total_raw

    from slices
    where method = 'Timeslices' or events_raw > 0

),

final as (

    select * from occurrence_units
    union all
    select * from slice_units

),

{#- After a purge each SLO keeps the units of its own data's cut-off: an event-pair SLO that of
    the business events, a run SLO that of the runs and steps (a purge of the events alone leaves
    the run SLOs' late runs counted, as a build without it would). A unit counts what ended up to
    unit_at: an event-pair unit falls at its start event's deadline (up to deadline_seconds after
    it), a run's at its end, a slice's at its end; units up to a day (or the longest deadline, if
    longer) after the cut-off are kept too, since the rows they were made of may have been
    purged. -#}
{%- set period = "unit_at - to_seconds((select greatest(coalesce(max(deadline_seconds), 0), 86400) "
    ~ "from " ~ ref('int_slo_definitions') ~ "))" -%}
{%- set kept_slo = "exists (select 1 from " ~ ref('int_slo_definitions') ~ " as slos"
    ~ " where slos.slo_id = kept.slo_id and kept.unit_at > slos.horizon_start"
    ~ " and kept.unit_at <= slos.as_of and slos.indicator " -%}
units as (

    select
        slo_id,
        unit_at,
        cast(good as double) as good,
        cast(total as double) as total,
        cast(good_raw as double) as good_raw,
        cast(total_raw as double) as total_raw

    from final

),

slo_indicators as (

    select slo_id, indicator = 'event_pair' as counts_events from slos

)

select * from (
    select units.* from units
    inner join slo_indicators on units.slo_id = slo_indicators.slo_id
    where slo_indicators.counts_events
) as final
{{ keep_purged_periods(period, ['business_events'], keep_where=kept_slo ~ "= 'event_pair')") }}
union all
select * from (
    select units.* from units
    inner join slo_indicators on units.slo_id = slo_indicators.slo_id
    where not slo_indicators.counts_events
) as final
{{ keep_purged_periods(period, ['flow_runs', 'step_runs'], keep_where=kept_slo ~ "<> 'event_pair')") }}
