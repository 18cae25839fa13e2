"""The dashboard filters and their URL form (``?from=&to=&process=&flow=``), as pure functions.

A link reopens the same view: pages read the filters from ``st.query_params`` on load
(:func:`parse_filters`, invalid values ignored with a warning) and write them back when they
change (:func:`filters_to_query_params`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from dashboards.formatting import code_span

DEFAULT_RANGE_DAYS = 30

FROM_PARAM = "from"
TO_PARAM = "to"
PROCESS_PARAM = "process"
FLOW_PARAM = "flow"
FILTER_PARAMS = (FROM_PARAM, TO_PARAM, PROCESS_PARAM, FLOW_PARAM)


@dataclass(frozen=True)
class FilterOptions:
    """What the published data lets a user choose from.

    Days from ``first_day`` to ``last_day`` can be picked; the default range ends at
    ``default_end`` (the snapshot's ``data_as_of`` day), else at ``last_day``.
    """

    first_day: date
    last_day: date
    processes: tuple[str, ...]
    flow_names: Mapping[str, str] = field(default_factory=dict)  # flow_id -> flow_name
    default_end: date | None = None

    @property
    def flows(self) -> tuple[str, ...]:
        return tuple(self.flow_names)

    def flow_label(self, flow_id: str) -> str:
        name = self.flow_names.get(flow_id)
        return f"{name} ({flow_id})" if name and name != flow_id else flow_id


@dataclass(frozen=True)
class Filters:
    """A date range (UTC days, both ends included), optionally one process and one flow."""

    start: date
    end: date
    process: str | None = None
    flow_id: str | None = None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous_period(self) -> Filters:
        """The range of the same length that ends the day before this one starts."""
        length = timedelta(days=self.days)
        return replace(self, start=self.start - length, end=self.end - length)

    def comparable_period(self, first_day: date) -> Filters | None:
        """:meth:`previous_period`, or ``None`` when it ends before the data's first day: it
        holds no data, and compared with it every count would read as growth (+531 cases)."""
        previous = self.previous_period()
        return previous if previous.end >= first_day else None


def default_range(options: FilterOptions, end: date | None = None) -> tuple[date, date]:
    """The last :data:`DEFAULT_RANGE_DAYS` days ending at ``end`` (default: ``data_as_of``)."""
    last = end or options.default_end or options.last_day
    start = max(options.first_day, last - timedelta(days=DEFAULT_RANGE_DAYS - 1))
    return min(start, last), last


def parse_filters(
    params: Mapping[str, str | Sequence[str]],
    options: FilterOptions,
    *,
    flow_required: bool = False,
    process_required: bool = False,
    flows_of_process: Callable[[str], Sequence[str]] | None = None,
) -> tuple[Filters, list[str]]:
    """Filters from URL query parameters, plus one warning per value that was ignored.

    Missing dates fall back to the default range; a date that is not ``YYYY-MM-DD`` or lies
    outside the data, a ``from`` after ``to``, an unknown process or flow are ignored with a
    warning. With ``flow_required`` a missing or unknown flow becomes the first flow serving the
    URL's process (``flows_of_process``), else the first known flow; with ``process_required`` a
    missing or unknown process the first known process.
    """
    warnings: list[str] = []
    span = f"the data covers {options.first_day.isoformat()} to {options.last_day.isoformat()}"

    def _date(name: str) -> date | None:
        raw = _single(params.get(name))
        if raw is None:
            return None
        try:
            value = date.fromisoformat(raw)
        except ValueError:
            warnings.append(
                f"Ignored {code_span(f'{name}={raw}')} from the URL: not a date like 2026-10-29."
            )
            return None
        if not options.first_day <= value <= options.last_day:
            warnings.append(f"Ignored {code_span(f'{name}={raw}')} from the URL: {span}.")
            return None
        return value

    start, end = _date(FROM_PARAM), _date(TO_PARAM)
    if start is not None and end is not None and start > end:
        warnings.append(
            f"Ignored `from={start}` and `to={end}` from the URL: `from` is after `to`; "
            f"showing the last {DEFAULT_RANGE_DAYS} days instead."
        )
        start = end = None
    default_start, default_end = default_range(options, end)
    if start is not None and end is None and start > default_end:
        default_end = options.last_day  # a `from` after data_as_of, on days of newer samples
    start = start or default_start
    end = end or default_end

    process = _single(params.get(PROCESS_PARAM))
    if process is not None and process not in options.processes:
        known = ", ".join(options.processes) or "none"
        warnings.append(
            f"Ignored {code_span(f'process={process}')} from the URL: known processes are {known}."
        )
        process = None
    if process_required and process is None and options.processes:
        process = options.processes[0]

    flow_id = _single(params.get(FLOW_PARAM))
    if flow_id is not None and flow_id not in options.flow_names:
        warnings.append(
            f"Ignored {code_span(f'flow={flow_id}')} from the URL: no flow with that id in the "
            "published data."
        )
        flow_id = None
    if flow_required and flow_id is None and options.flows:
        serving = flows_of_process(process) if flows_of_process and process else ()
        flow_id = next((f for f in serving if f in options.flow_names), options.flows[0])

    return Filters(start=start, end=end, process=process, flow_id=flow_id), warnings


def choose(
    raw: str | Sequence[str] | None, choices: Sequence[str], name: str, what: str
) -> tuple[int, list[str]]:
    """Index in ``choices`` of the value URL parameter ``name`` holds, plus a warning when the
    parameter names none of them (the first choice is shown then). ``what`` names the kind of
    choice in the warning ("process", "SLO", …)."""
    wanted = _single(raw)
    if wanted is None or not choices:
        return 0, []
    if wanted in choices:
        return list(choices).index(wanted), []
    return 0, [
        f"Ignored {code_span(f'{name}={wanted}')} from the URL: not a known {what}; showing "
        f"{code_span(choices[0])}."
    ]


def range_within(picked: object, options: FilterOptions) -> bool:
    """True when ``picked`` (a date or a tuple of dates, as a date picker holds it) lies in the data."""
    days = picked if isinstance(picked, tuple | list) else (picked,)
    return all(
        isinstance(day, date) and options.first_day <= day <= options.last_day for day in days
    )


def filters_to_query_params(filters: Filters) -> dict[str, str]:
    """The URL query parameters that reopen ``filters`` (process and flow only when chosen)."""
    params = {FROM_PARAM: filters.start.isoformat(), TO_PARAM: filters.end.isoformat()}
    if filters.process is not None:
        params[PROCESS_PARAM] = filters.process
    if filters.flow_id is not None:
        params[FLOW_PARAM] = filters.flow_id
    return params


def _single(value: str | Sequence[str] | None) -> str | None:
    """The last value of a query parameter given once or repeated; blank counts as absent."""
    if value is None:
        return None
    if not isinstance(value, str):
        value = value[-1] if len(value) else ""
    value = value.strip()
    return value or None
