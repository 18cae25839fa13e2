{#-
    The SLO configuration, passed in by `flowledger build` as dbt vars (see
    flowledger/budgets/config.py), as SQL rows. Without vars (a bare `dbt build`) there are no
    SLOs and every error-budget model is empty.
-#}

{% macro budget_literal(value) -%}
    {%- if value is none -%}null
    {%- elif value is sameas true -%}true
    {%- elif value is sameas false -%}false
    {%- elif value is number -%}{{ value }}
    {%- else -%}'{{ (value | string).replace("'", "''") }}'
    {%- endif -%}
{%- endmacro %}

{% macro budget_rows(rows, columns) -%}
    {%- if rows | length == 0 -%}
        select
        {%- for name, type in columns %}
            cast(null as {{ type }}) as {{ name }}{{ "," if not loop.last }}
        {%- endfor %}
        where false
    {%- else -%}
        {%- for row in rows %}
        select
            {%- for name, type in columns %}
            cast({{ budget_literal(row.get(name)) }} as {{ type }}) as {{ name }}{{ "," if not loop.last }}
            {%- endfor %}
        {{ "union all" if not loop.last }}
        {%- endfor %}
    {%- endif -%}
{%- endmacro %}

{% macro budget_slo_rows() -%}
    {{ budget_rows(var('flowledger_slos', []), [
        ('slo_id', 'string'), ('slo_name', 'string'), ('display_name', 'string'),
        ('flow_id', 'string'), ('indicator', 'string'), ('count_by', 'string'),
        ('latency_span', 'string'), ('threshold_ms', 'double'),
        ('threshold_inclusive', 'boolean'), ('start_event', 'string'), ('end_event', 'string'),
        ('join_key', 'string'), ('deadline_seconds', 'double'), ('event_source', 'string'),
        ('target', 'double'), ('window_text', 'string'), ('window_kind', 'string'),
        ('window_seconds', 'bigint'), ('calendar_unit', 'string'),
        ('calendar_count', 'bigint'), ('calendar_anchor', 'string'), ('time_zone', 'string'),
        ('method', 'string'), ('slice_seconds', 'bigint'), ('slice_target', 'double'),
        ('dashboard_url', 'string'), ('at_risk_remaining', 'double'),
        ('recover_remaining', 'double'), ('recover_hours', 'bigint'), ('clear_hours', 'bigint'),
        ('min_events', 'bigint')
    ]) }}
{%- endmacro %}

{% macro budget_adjustment_rows() -%}
    {{ budget_rows(var('flowledger_budget_adjustments', []), [
        ('slo_id', 'string'), ('name', 'string'), ('kind', 'string'),
        ('starts_at', 'timestamp'), ('ends_at', 'timestamp'), ('description', 'string')
    ]) }}
{%- endmacro %}

{#- The UTC start of the calendar period (`count` days, weeks, months, quarters or years in time
    zone `tz`; count NULL is 1) that holds UTC timestamp `ts`, the periods anchored at the local
    wall time `anchor` (OpenSLO's calendar.startTime as text; NULL: local midnight on Monday
    2001-01-01, so for one unit the calendar's days, ISO weeks, months, quarters, years);
    `offset` periods later with offset 1 (the period's end). Months, quarters and years add
    calendar months to the anchor (its day clamped to a shorter month's last day), days and
    weeks add days of local wall time: the same periods as flowledger/budgets/periods.py.
    DuckDB timezone(); Spark from_utc_timestamp / to_utc_timestamp. -#}
{% macro budget_period_start(ts, unit, count, tz, anchor, offset=0) -%}
    {{ return(adapter.dispatch('budget_period_start', 'flowledger')(ts, unit, count, tz, anchor, offset)) }}
{%- endmacro %}

{#- The anchor as a local timestamp, and the period's length: months per period (NULL for days
    and weeks) and days per period (NULL for months, quarters and years). -#}
{% macro budget_period_anchor(anchor) -%}
    cast(coalesce({{ anchor }}, '2001-01-01 00:00:00') as timestamp)
{%- endmacro %}

{% macro budget_period_months(unit, count) -%}
    (case {{ unit }} when 'month' then 1 when 'quarter' then 3 when 'year' then 12 end
        * coalesce({{ count }}, 1))
{%- endmacro %}

{#- Whole periods of `months` months from the month of `origin` to that of `local` (both local
    wall times), not yet corrected for the anchor's day and time in the month. -#}
{% macro budget_month_periods(local, origin, months) -%}
    cast(floor(((year({{ local }}) - year({{ origin }})) * 12
            + month({{ local }}) - month({{ origin }})) / {{ months }}) as bigint)
{%- endmacro %}

{% macro budget_period_days(unit, count) -%}
    (case {{ unit }} when 'day' then 1 when 'week' then 7 end * coalesce({{ count }}, 1))
{%- endmacro %}

{#- Periods of one unit without an anchor (the SLO's calendar.startTime NULL) are
    date_trunc's, which is the same period and costs a third of the anchored arithmetic over the
    1.7M budget units of the 10M benchmark (int_slo_series 0.57 -> 1.33 CPU s): CASE evaluates
    the anchored branch on the other SLOs' rows alone. -#}
{% macro default__budget_period_start(ts, unit, count, tz, anchor, offset=0) -%}
    case when {{ anchor }} is null and coalesce({{ count }}, 1) = 1
        then {{ default__budget_period_start_unanchored(ts, unit, tz, offset) }}
    else {{ default__budget_period_start_anchored(ts, unit, count, tz, anchor, offset) }} end
{%- endmacro %}

{% macro default__budget_period_start_unanchored(ts, unit, tz, offset) -%}
    timezone('UTC', timezone({{ tz }},
        date_trunc({{ unit }}, timezone({{ tz }}, timezone('UTC', {{ ts }})))
        {%- if offset %}
        + case {{ unit }}
            when 'day' then interval 1 day * {{ offset }}
            when 'week' then interval 7 day * {{ offset }}
            when 'month' then interval 1 month * {{ offset }}
            when 'quarter' then interval 3 month * {{ offset }}
            else interval 1 year * {{ offset }}
        end
        {%- endif %}
    ))
{%- endmacro %}

{% macro default__budget_period_start_anchored(ts, unit, count, tz, anchor, offset) -%}
    {%- set local = "timezone(" ~ tz ~ ", timezone('UTC', " ~ ts ~ "))" -%}
    {%- set origin = budget_period_anchor(anchor) -%}
    {%- set months = budget_period_months(unit, count) -%}
    {%- set days = budget_period_days(unit, count) -%}
    {#- whole periods of months from the anchor's month to the local month; one fewer when the
        anchor's day and time in that month are still ahead -#}
    {%- set month_periods = budget_month_periods(local, origin, months) -%}
    {%- set whole_month_periods -%}
        ({{ month_periods }} - case
            when {{ origin }} + to_months(cast({{ month_periods }} * {{ months }} as integer)) > {{ local }}
                then 1 else 0 end)
    {%- endset -%}
    timezone('UTC', timezone({{ tz }},
        case
            when {{ months }} is not null then {{ origin }} + to_months(cast(
                ({{ whole_month_periods }} + {{ offset }}) * {{ months }} as integer))
            else {{ origin }} + to_days(cast(
                (floor({{ budget_seconds(origin, local) }} / (86400 * {{ days }})) + {{ offset }})
                * {{ days }} as integer))
        end
    ))
{%- endmacro %}

{% macro spark__budget_period_start(ts, unit, count, tz, anchor, offset=0) -%}
    case when {{ anchor }} is null and coalesce({{ count }}, 1) = 1
        then {{ spark__budget_period_start_unanchored(ts, unit, tz, offset) }}
    else {{ spark__budget_period_start_anchored(ts, unit, count, tz, anchor, offset) }} end
{%- endmacro %}

{% macro spark__budget_period_start_unanchored(ts, unit, tz, offset) -%}
    {%- set local_start -%}
        date_trunc({{ unit }}, from_utc_timestamp({{ ts }}, {{ tz }}))
    {%- endset -%}
    {%- set local_period_start -%}
        {%- if offset %}
        case {{ unit }}
            when 'day' then timestampadd(DAY, {{ offset }}, {{ local_start }})
            when 'week' then timestampadd(DAY, 7 * {{ offset }}, {{ local_start }})
            when 'month' then timestampadd(MONTH, {{ offset }}, {{ local_start }})
            when 'quarter' then timestampadd(MONTH, 3 * {{ offset }}, {{ local_start }})
            else timestampadd(YEAR, {{ offset }}, {{ local_start }})
        end
        {%- else %}
        {{ local_start }}
        {%- endif %}
    {%- endset -%}
    {{ spark_local_to_utc(local_period_start, tz) }}
{%- endmacro %}

{#- A local wall time in `tz` as a UTC timestamp, a wall time that happens twice (the hour the
    clocks go back) read as its second occurrence, as DuckDB's timezone() and
    flowledger/budgets/periods.py read it: Spark's to_utc_timestamp takes the first. A wall
    time that never happens (the hour the clocks go forward) is left to to_utc_timestamp. -#}
{% macro spark_local_to_utc(local, tz) -%}
    {#- the first occurrence named once, through a one-element array's lambda -#}
    element_at(transform(array(to_utc_timestamp({{ local }}, {{ tz }})), first_utc -> case
        when from_utc_timestamp(first_utc + interval 1 hour, {{ tz }})
            = from_utc_timestamp(first_utc, {{ tz }})
            then first_utc + interval 1 hour
        else first_utc end), 1)
{%- endmacro %}

{% macro spark__budget_period_start_anchored(ts, unit, count, tz, anchor, offset) -%}
    {%- set local = "from_utc_timestamp(" ~ ts ~ ", " ~ tz ~ ")" -%}
    {%- set origin = budget_period_anchor(anchor) -%}
    {%- set months = budget_period_months(unit, count) -%}
    {%- set days = budget_period_days(unit, count) -%}
    {%- set month_periods = budget_month_periods(local, origin, months) -%}
    {%- set whole_month_periods -%}
        ({{ month_periods }} - case
            when timestampadd(MONTH, cast({{ month_periods }} * {{ months }} as int), {{ origin }}) > {{ local }}
                then 1 else 0 end)
    {%- endset -%}
    {%- set local_period_start -%}
        case
            when {{ months }} is not null then timestampadd(MONTH, cast(
                ({{ whole_month_periods }} + {{ offset }}) * {{ months }} as int), {{ origin }})
            else timestampadd(DAY, cast(
                (floor({{ budget_seconds(origin, local) }} / (86400 * {{ days }})) + {{ offset }})
                * {{ days }} as int), {{ origin }})
        end
    {%- endset -%}
    {{ spark_local_to_utc(local_period_start, tz) }}
{%- endmacro %}

{#- Seconds from `earlier` to `later` as DOUBLE. -#}
{% macro budget_seconds(earlier, later) -%}
    {{ seconds_between(earlier, later) }}
{%- endmacro %}

{#- The windows the burn-rate mart reports besides the whole period (name, seconds, order), and
    the SRE Workbook's four multi-window alerts (name, severity, budget fraction f, long window,
    short window = long / 12). flowledger/budgets/math.py holds the same tables. -#}
{% macro budget_burn_windows() -%}
    select * from (values
        ('5m', 300, 1), ('30m', 1800, 2), ('1h', 3600, 3), ('2h', 7200, 4),
        ('6h', 21600, 5), ('1d', 86400, 6), ('3d', 259200, 7)
    ) as burn_windows (window_name, window_seconds, window_order)
{%- endmacro %}

{% macro budget_alert_windows() -%}
    select * from (values
        ('page-1h', 'page', 0.02, '1h', 3600, '5m', 300, 1),
        ('page-6h', 'page', 0.05, '6h', 21600, '30m', 1800, 2),
        ('ticket-1d', 'ticket', 0.10, '1d', 86400, '2h', 7200, 3),
        ('ticket-3d', 'ticket', 0.10, '3d', 259200, '6h', 21600, 4)
    ) as alert_windows (
        alert_name, severity, budget_fraction, long_window, long_seconds, short_window,
        short_seconds, alert_order
    )
{%- endmacro %}

{#- The policy state after one hourly step, from the previous state, the step it was entered at
    (`since`) and the step's conditions (columns of int_slo_policy_states' `streaks`, whose
    streaks are hours a condition has held: 0 at the first step it holds). RECOVERING lasts at
    least clearAfter hours: the hours without the at-risk condition count from its entry, not
    from before it (they had piled up while EXHAUSTED). See docs/error-budgets.md, "Policy
    states". -#}
{% macro budget_next_state(previous, since) -%}
    case
        when not streaks.is_sufficient or streaks.budget_remaining is null then 'INSUFFICIENT_DATA'
        when streaks.budget_remaining <= 0 then 'EXHAUSTED'
        when {{ previous }} in ('EXHAUSTED', 'RECOVERING', 'AT_RISK')
            and coalesce(streaks.is_period_reset, false)
            then case when streaks.is_at_risk_condition then 'AT_RISK' else 'HEALTHY' end
        when {{ previous }} = 'EXHAUSTED' then
            case
                when streaks.is_recovered_condition
                    and streaks.recovered_streak_hours >= streaks.recover_hours then 'RECOVERING'
                else 'EXHAUSTED'
            end
        when {{ previous }} in ('RECOVERING', 'AT_RISK') then
            case
                when not streaks.is_at_risk_condition
                    and least(streaks.clear_streak_hours, streaks.step_index - {{ since }})
                        >= streaks.clear_hours then 'HEALTHY'
                else {{ previous }}
            end
        when streaks.is_at_risk_condition then 'AT_RISK'
        else 'HEALTHY'
    end
{%- endmacro %}

{#- Exact budgets. 1 − T in doubles leaves a crumb (1 − 0.95 = 0.050000000000000044), and so does
    a product (0.07 · 100 = 7.000000000000001): an exactly spent budget kept 1e-16 and never
    became EXHAUSTED. The budget ratio is rounded to 12 decimals (flowledger/budgets/math.py
    BUDGET_DIGITS, the same in Python), the budget in units to 9, the consumed fraction to 12;
    nothing a target can express is lost. -#}
{% macro budget_ratio(target) -%}
    round(1.0 - {{ target }}, 12)
{%- endmacro %}

{#- Whether an error ratio is above a burn-rate alert's threshold f · P / w · (1 − T), strictly
    (SRE Workbook, Sloth, Pyrra: `>`). Both are doubles: 14 bad of 100 against 0.1 · 28 · 0.05
    is 0.14 against 0.13999999999999999, mathematically equal, and fired. The ratio must pass
    the threshold by more than a relative 1e-12: far above the crumbs of a few double operations
    (1e-15), far below the step between two ratios of real counts. -#}
{% macro above_threshold(error_ratio, threshold) -%}
    ({{ error_ratio }} > {{ threshold }} * (1.0 + 1e-12))
{%- endmacro %}

{% macro budget_units(budget_ratio, denominator) -%}
    round({{ budget_ratio }} * {{ denominator }}, 9)
{%- endmacro %}

{#- bad / budget in units, NULL for an empty budget; remaining is 1.0 minus it. -#}
{% macro budget_consumed(bad, budget_ratio, denominator) -%}
    round({{ safe_ratio(bad, budget_units(budget_ratio, denominator)) }}, 12)
{%- endmacro %}

{#- When a unit begins: a time slice (stamped at its end, `unit_at`) at its start, an event at its
    time. A calendar period [start, end) holds the units that begin in it: the slice that ends
    at the period's start lies wholly before it. Windows ending at as_of, (as_of − w, as_of],
    hold the units stamped after their start, which for a slice is the same rule. -#}
{% macro budget_unit_start(unit_at, method, slice_seconds) -%}
    case
        when {{ method }} in ('Timeslices', 'RatioTimeslices')
            then {{ unit_at }} - {{ interval_of(slice_seconds, 'second') }}
        else {{ unit_at }}
    end
{%- endmacro %}

{#- The end of the time slice that holds `ts` in its local day [day_start, day_end): slice k of
    the day ends `slice_seconds` · (k + 1) after the day's start, the day's last one at the day's
    end (a DST day's last slice is an hour shorter or longer). -#}
{% macro budget_slice_end(ts, day_start, day_end, slice_seconds='slice_seconds') -%}
    case
        when {{ day_start }} is null then null
        when floor({{ budget_seconds(day_start, ts) }} / {{ slice_seconds }}) + 1
            >= 86400 / {{ slice_seconds }}
            then {{ day_end }}
        else {{ day_start }} + {{ interval_of(
            'cast((floor(' ~ budget_seconds(day_start, ts) ~ ' / ' ~ slice_seconds ~ ') + 1)'
            ~ ' * ' ~ slice_seconds ~ ' as ' ~ dbt.type_bigint() ~ ')', 'second') }}
    end
{%- endmacro %}
