-- One row per SLO and budgeting unit between the SLO's horizon start and as_of: what the budget
-- counts. `good` and `total` are after declared adjustments (adjusted events are left out),
-- `good_raw` and `total_raw` before.
-- After `flowledger purge`, the units that may count rows from before the retention cut-off of
-- the SLO's data (business events for an event pair, runs and steps for a run SLO: a unit reaches
-- back its slice, plus an event pair's deadline) are kept as the last build made them from the complete
-- data (their events are gone), within each SLO's horizon: the budgets, series and burn rates
-- of the retained periods stay what they were.
--   Occurrences: one unit per decided event at its time (total 1, good 0 or 1).
--   Timeslices: one unit per slice of `slice_seconds` with events (laid out from each local
--     day's start in the SLO's time zone, see int_slo_definitions; counted at its end), good
--     when its good/total ratio reaches slice_target. A slice without events is no data,
--     neither good nor bad: it has no unit (OpenSLO, SRE Workbook; the reference's
--     insufficient-data rule), so an SLO whose flow never ran has no units at all.
--   RatioTimeslices: one unit per slice with events; good is the slice's good/total ratio.
--   Either way a slice whose events are all adjusted away counts total 0 (no data after
--   adjustments, as an adjusted event does for Occurrences) and total_raw 1.
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
        slos.slice_target,
        slos.time_zone,
        slos.calendar_anchor,
        slos.as_of

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

-- the local day (int_slo_definitions, slice_days) each slice event falls in
slice_days as (

    select
        *,
        {{ budget_period_start('event_at', "'day'", '1', 'time_zone', 'calendar_anchor') }}
            as day_start,
        {{ budget_period_start('event_at', "'day'", '1', 'time_zone', 'calendar_anchor', 1) }}
            as day_end

    from decided
    where method in ('Timeslices', 'RatioTimeslices')

),

-- slice k of the day ends Δ · (k + 1) after the day's start; the day's last one at its end
slice_events as (

    select
        *,
        {{ budget_slice_end('event_at', 'day_start', 'day_end') }} as slice_end

    from slice_days

),

-- the slices with events that have ended by as_of (a slice still open at as_of is not
-- counted); a slice without events is no data
slices as (

    select
        slo_id,
        method,
        slice_target,
        slice_end as unit_at,
        sum(case when is_adjusted then 0 else 1 end) as events_adjusted,
        sum(case when is_adjusted or not is_good then 0 else 1 end) as good_adjusted,
        count(*) as events_raw,
        sum(case when is_good then 1 else 0 end) as good_events_raw

    from slice_events
    where slice_end <= as_of
    group by slo_id, method, slice_target, slice_end

),

slice_units as (

    select
        slo_id,
        unit_at,
        case
            when events_adjusted = 0 then 0.0
            when method = 'RatioTimeslices' then good_adjusted / events_adjusted
            when good_adjusted / events_adjusted >= slice_target then 1.0
            else 0.0
        end as good,
        case when events_adjusted = 0 then 0.0 else 1.0 end as total,
        case
            when method = 'RatioTimeslices' then good_events_raw / events_raw
            when good_events_raw / events_raw >= slice_target then 1.0
            else 0.0
        end as good_raw,
        1.0 as total_raw

    from slices

),

final as (

    select * from occurrence_units
    union all
    select * from slice_units

),

{#- After a purge each SLO keeps the units its data can no longer give, as built from the complete
    data: those of an event-pair SLO that may count a business event before the events' cut-off,
    those of a run SLO that may count a run before the runs' (a purge of the events alone leaves
    the run SLOs' late runs counted, as a build without it would). A unit falls at what it counts
    up to (a run's end: runs that ended after the cut-off are kept; a slice's end; an event
    pair's deadline, up to deadline_seconds after its start event), so it may count purged rows
    when it falls less than its slice (an hour more on a DST day), plus an event pair's deadline,
    after the cut-off. -#}
{%- set kept_for_events = built_before_purge(['business_events']) -%}
{%- set kept_for_runs = built_before_purge(['flow_runs', 'step_runs']) -%}
{%- set events_horizon = retention_horizon(['business_events']) | trim -%}
{%- set runs_horizon = retention_horizon(['flow_runs', 'step_runs']) | trim -%}
slo_reach as (

    -- per SLO: which cut-off applies, and how far back from a unit its rows can lie (seconds)
    select
        slo_id,
        horizon_start,
        as_of,
        indicator = 'event_pair' as counts_events,
        cast(ceil(
            (case when indicator = 'event_pair' then coalesce(deadline_seconds, 0) else 0 end)
            -- a slice is up to an hour longer than slice_seconds on a DST day (the day's last
            -- slice ends at the next local day's start)
            + (case when method = 'Occurrences' then 0 else coalesce(slice_seconds + 3600, 0) end)
        ) as {{ dbt.type_bigint() }}) as reach_seconds

    from slos

),

units as (

    select
        final.slo_id,
        final.unit_at,
        cast(final.good as double) as good,
        cast(final.total as double) as total,
        cast(final.good_raw as double) as good_raw,
        cast(final.total_raw as double) as total_raw,
        slo_reach.counts_events,
        final.unit_at - {{ interval_of('slo_reach.reach_seconds', 'second') }} as reaches_back_to

    from final
    inner join slo_reach
        on final.slo_id = slo_reach.slo_id

)

select slo_id, unit_at, good, total, good_raw, total_raw
from units
{%- if kept_for_events is not none or kept_for_runs is not none %}
where
    {% if kept_for_events is not none -%}
    not (counts_events and reaches_back_to < {{ events_horizon }})
    {%- else -%} true {%- endif %}
    and {% if kept_for_runs is not none -%}
    not (not counts_events and reaches_back_to < {{ runs_horizon }})
    {%- else -%} true {%- endif %}
{%- endif %}
{%- for kept_relation, horizon, counts_events in [
    (kept_for_events, events_horizon, 'slo_reach.counts_events'),
    (kept_for_runs, runs_horizon, 'not slo_reach.counts_events'),
] %}
{%- if kept_relation is not none %}
union all
select kept.slo_id, kept.unit_at, kept.good, kept.total, kept.good_raw, kept.total_raw
from {{ kept_relation }} as kept
inner join slo_reach
    on kept.slo_id = slo_reach.slo_id
where {{ counts_events }}
    and kept.unit_at - {{ interval_of('slo_reach.reach_seconds', 'second') }} < {{ horizon }}
    and kept.unit_at > slo_reach.horizon_start
    and kept.unit_at <= slo_reach.as_of
{%- endif %}
{%- endfor %}
