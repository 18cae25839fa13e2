"""Streamlit pieces every page shares: error handling, the "data as of" line, the URL-backed
filter bar and the KPI tile. Pages stay thin by composing these."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from urllib.parse import quote

import duckdb
import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboards import data
from dashboards.filters import (
    FILTER_PARAMS,
    FLOW_PARAM,
    PROCESS_PARAM,
    FilterOptions,
    Filters,
    choose,
    filters_to_query_params,
    parse_filters,
    range_within,
)
from dashboards.formatting import is_no_change
from flowledger.warehouse import NothingPublished
from lineage.provenance import ProvenanceError

NOTHING_PUBLISHED_MESSAGE = (
    "Nothing is published yet in this data directory. Run `flowledger build` (or "
    "`flowledger demo --no-serve` for demo data) to build and publish the marts, then reload "
    "this page."
)
NOTHING_PUBLISHED_CAPTION = "Data as of: nothing published yet"
ALL = "(all)"
#: how a table shows the ``timeline`` column :func:`with_timeline_links` adds
TIMELINE_COLUMN = st.column_config.LinkColumn(display_text="open timeline")


def case_timeline_url(case_key: str) -> str:
    """The case timeline page of one case (``process:case id``), relative to any page."""
    return f"case-timeline?case={quote(case_key, safe='')}"


def with_timeline_links(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with its ``case_key`` column replaced by a ``timeline`` link to each case's
    timeline page (empty for a row without a case)."""
    links = frame["case_key"].map_elements(case_timeline_url, return_dtype=pl.String)
    return frame.with_columns(links.alias("timeline")).drop("case_key")


def run_page(render: Callable[[], None]) -> None:
    """Render a page from one published snapshot (:func:`data.pin_snapshot`); before the first
    build say so, and show a read error instead of crashing."""
    data.pin_snapshot()
    try:
        render()
    except NothingPublished as exc:
        st.info(f"{NOTHING_PUBLISHED_MESSAGE}\n\n{exc}")
    except ProvenanceError as exc:  # the provenance reads' own "nothing published" / old build
        st.info(f"Record provenance cannot be read: {exc}.")
    except duckdb.Error as exc:
        st.error(
            f"Could not read the published marts ({type(exc).__name__}): {exc}\n\n"
            "If a build just finished, reload the page; if this persists, rebuild the marts "
            "with `flowledger build`."
        )


def format_snapshot_time(text: str) -> str:
    """An ISO timestamp from ``_meta`` as "2026-10-29 12:00 UTC"; unreadable text is shown as is."""
    parsed = data.parse_timestamp(text)
    return f"{parsed:%Y-%m-%d %H:%M} UTC" if parsed else (text or "unknown")


def data_as_of_text(meta: data.SnapshotMeta) -> str:
    return (
        f"Data as of {format_snapshot_time(meta.data_as_of)} "
        f"(built {format_snapshot_time(meta.built_at)})"
    )


#: how far one feed may lag the other before the page says so
FEED_LAG = timedelta(days=1)


def lagging_feed_text(meta: data.SnapshotMeta) -> str | None:
    """A note when the flow runs and the business events end more than :data:`FEED_LAG` apart:
    a run feed that stopped looked like a calm system under one "data as of"."""
    runs, events = data.parse_timestamp(meta.runs_as_of), data.parse_timestamp(meta.events_as_of)
    if runs is None or events is None or abs(runs - events) <= FEED_LAG:
        return None
    older, newer = (
        ("Flow runs", "business events")
        if runs < events
        else (
            "Business events",
            "flow runs",
        )
    )
    return (
        f"{older} end {format_snapshot_time(min(runs, events).isoformat())}, "
        f"{newer} {format_snapshot_time(max(runs, events).isoformat())}: no data of the first "
        "since then may be a feed that stopped, not a quiet system."
    )


def purged_runs_text(meta: data.SnapshotMeta, first_day: date) -> str | None:
    """A note when the days shown (from ``first_day``) reach before the flow runs' retention
    horizon: run counts and failure rates there come from the hourly aggregates a purge keeps,
    latency and single runs from the runs still held, so the two covered different runs without
    a word."""
    horizon = data.parse_timestamp(meta.runs_retained_from)
    if horizon is None or first_day >= horizon.date():
        return None
    return (
        f"Flow runs before {format_snapshot_time(meta.runs_retained_from)} were purged "
        "(retention): run counts and failure rates of those days are the aggregates kept from "
        "them; latency and the lists of single runs cover the runs since then only."
    )


def show_data_as_of() -> None:
    """The line every page shows under its title: the time of the newest data in the published
    snapshot, and when it was built. Before the first build it says so (the lineage explorer
    works without a snapshot; the other pages then say what to run)."""
    try:
        meta = data.snapshot_meta()
    except NothingPublished:
        st.caption(NOTHING_PUBLISHED_CAPTION)
        return
    st.caption(data_as_of_text(meta))
    lagging = lagging_feed_text(meta)
    if lagging:
        st.warning(lagging)


def filter_bar(
    options: FilterOptions,
    *,
    page: str,
    with_process: bool = True,
    with_flow: bool = True,
    flow_required: bool = False,
    process_required: bool = False,
    flows_of_process: Callable[[str], Sequence[str]] | None = None,
) -> Filters:
    """Date range, process and flow pickers seeded from the URL and written back to it.

    ``page`` namespaces the widget keys (``<page>.range``, ``<page>.process``, ``<page>.flow``).
    Invalid URL values are ignored with a visible warning. A URL without filters (the sidebar
    opens pages so) reopens the filters last chosen: the date range and process of any page, the
    flow chosen last on this page or picked on a page where a flow is optional (the leadership
    page's narrowing follows the user to flow health; flow health's own flow, always one, narrows
    no other page). A flow-required page without a flow shows the first flow serving the process
    (``flows_of_process``). ``process_required`` (the process page) offers no "(all)": without a process
    it shows the first one, which is not passed on to the other pages unless picked.
    """
    params = st.query_params.to_dict()
    if not any(name in params for name in FILTER_PARAMS):
        params = _remembered_filters(page)
    elif process_required and PROCESS_PARAM not in params:
        # another page's filters (browser Back can land here with them): the process last
        # chosen, not the first one, which the URL would then hold as if picked
        remembered = st.session_state.get(SHARED_FILTERS, {}).get(PROCESS_PARAM)
        if remembered is not None:
            params = {**params, PROCESS_PARAM: remembered}
    parsed, warnings = parse_filters(
        params,
        options,
        flow_required=flow_required,
        process_required=process_required,
        flows_of_process=flows_of_process,
    )
    for warning in warnings:
        st.warning(warning)

    range_key, process_key, flow_key = f"{page}.range", f"{page}.process", f"{page}.flow"
    seeds = {
        range_key: (parsed.start, parsed.end),
        process_key: parsed.process or ALL,
        flow_key: parsed.flow_id or ALL,
    }
    process_choices = options.processes if process_required else (ALL, *options.processes)
    flow_choices = options.flows if flow_required else (ALL, *options.flows)
    still_valid = {
        range_key: range_within(st.session_state.get(range_key), options),
        process_key: st.session_state.get(process_key) in process_choices,
        flow_key: st.session_state.get(flow_key) in flow_choices,
    }
    # The URL changed under the widgets (browser Back/Forward, a link, an edit): it wins.
    url_moved = _url_filters() != st.session_state.get(f"{page}.url_written", _url_filters())
    for key, seed in seeds.items():
        # First run of the session, or a newer snapshot no longer has the chosen value.
        if key not in st.session_state or not still_valid[key] or url_moved:
            st.session_state[key] = seed

    pickers = 1 + with_process + with_flow
    columns = st.columns({3: [2, 1, 1], 2: [2, 2], 1: [1]}[pickers])
    with columns[0]:
        picked = st.date_input(
            "Date range (UTC)",
            min_value=options.first_day,
            max_value=options.last_day,
            key=range_key,
            format="YYYY-MM-DD",
        )
    start, end = _complete_range(picked, parsed)
    process: str | None = None
    if with_process:
        with columns[1]:
            process = _none_for_all(st.selectbox("Process", process_choices, key=process_key))
    flow_id: str | None = None
    if with_flow:
        with columns[-1]:
            flow_id = _none_for_all(
                st.selectbox(
                    "Flow",
                    flow_choices,
                    key=flow_key,
                    format_func=lambda value: value if value == ALL else options.flow_label(value),
                )
            )
    filters = Filters(start=start, end=end, process=process, flow_id=flow_id)
    write_query_params(filters)
    st.session_state[f"{page}.url_written"] = _url_filters()
    # The first process a process-required page shows by itself is no choice to pass on.
    shown_by_itself = (
        process_required
        and PROCESS_PARAM not in st.session_state.get(SHARED_FILTERS, {})
        and options.processes
        and process == options.processes[0]
    )
    _remember_filters(
        page,
        filters,
        with_process=with_process and not shown_by_itself,
        flow_picked=with_flow and not flow_required,
    )
    return filters


SHARED_FILTERS = "filters.shared"
"""Session state: the URL form of the date range and process last chosen on any page."""


PICKED_FLOW = "filters.picked_flow"
"""Session state: (when, flow id or None) of the flow last picked where a flow is optional."""


def _remembered_filters(page: str) -> dict[str, str]:
    remembered = dict(st.session_state.get(SHARED_FILTERS, {}))
    chosen = [
        seen
        for seen in (st.session_state.get(f"{page}.last_flow"), st.session_state.get(PICKED_FLOW))
        if seen is not None and seen[1] is not None
    ]
    if chosen:
        remembered[FLOW_PARAM] = max(chosen, key=lambda seen: seen[0])[1]
    return remembered


def _remember_filters(
    page: str, filters: Filters, *, with_process: bool, flow_picked: bool
) -> None:
    """Keep ``filters`` for the next page: a page without a process picker keeps the process;
    a flow picked where it is optional is offered to the next page too."""
    shared = filters_to_query_params(filters)
    shared.pop(FLOW_PARAM, None)
    if not with_process:
        shared.pop(PROCESS_PARAM, None)
        if PROCESS_PARAM in st.session_state.get(SHARED_FILTERS, {}):
            shared[PROCESS_PARAM] = st.session_state[SHARED_FILTERS][PROCESS_PARAM]
    st.session_state[SHARED_FILTERS] = shared
    previous = st.session_state.get(f"{page}.last_flow", (0, None))
    if previous[1] != filters.flow_id:
        seen = (time.monotonic(), filters.flow_id)
        st.session_state[f"{page}.last_flow"] = seen
        if flow_picked:
            st.session_state[PICKED_FLOW] = seen


def url_choice(name: str, choices: Sequence[str], what: str) -> int:
    """Index in ``choices`` of the value ``?name=`` holds; a visible warning when it names none of
    them (the first choice is shown then)."""
    index, warnings = choose(st.query_params.get_all(name), choices, name, what)
    for warning in warnings:
        st.warning(warning)
    return index


def write_query_params(filters: Filters) -> None:
    """Make the URL say ``filters``, each once; other query parameters are left alone.

    One update at most: the browser gets one history entry per update (Streamlit pushes one per
    query-parameter message), so Back returns to the previous view, not to half-written URLs.
    """
    wanted = {name: [value] for name, value in filters_to_query_params(filters).items()}
    current = {name: st.query_params.get_all(name) for name in st.query_params}
    if {name: current[name] for name in FILTER_PARAMS if name in current} == wanted:
        return
    others = {name: values for name, values in current.items() if name not in FILTER_PARAMS}
    st.query_params.from_dict({**others, **wanted})


def _url_filters() -> dict[str, list[str]]:
    return {
        name: st.query_params.get_all(name) for name in FILTER_PARAMS if name in st.query_params
    }


def _complete_range(picked: object, fallback: Filters) -> tuple[date, date]:
    """While a user has picked only the first day of a range, keep the last complete range."""
    if isinstance(picked, tuple | list) and len(picked) == 2:
        return picked[0], picked[1]
    return fallback.start, fallback.end


def _none_for_all(choice: str | None) -> str | None:
    return None if choice in (None, ALL) else choice


#: The lineage explorer's URL path (dashboards/streamlit_app.py), relative to any page.
LINEAGE_PAGE = "lineage"


def lineage_url(column: str) -> str:
    """The lineage explorer answering "where does it come from?" for a mart column
    (``MODEL.COLUMN``, as `flowledger lineage trace` takes it)."""
    return f"{LINEAGE_PAGE}?column={quote(column)}&direction=upstream"


def lineage_links(columns: Sequence[str]) -> str:
    """Markdown: the mart columns a number is computed from, each a link to its lineage."""
    return "From " + " · ".join(f"[{column}]({lineage_url(column)})" for column in columns)


def kpi(
    label: str,
    value: str,
    delta: str | None = None,
    *,
    lower_is_better: bool = False,
    help: str | None = None,
    lineage: Sequence[str] = (),
) -> None:
    """One headline number; the delta is against the previous period of the same length.
    ``lineage``: the mart columns (``MODEL.COLUMN``) it is computed from, shown under it as links
    to the lineage explorer, so that "where does this number come from?" is one click."""
    if delta is None or is_no_change(delta):
        color = "off"
    else:
        color = "inverse" if lower_is_better else "normal"
    st.metric(label, value, delta, delta_color=color, help=help, border=True)
    if lineage:
        st.caption(lineage_links(lineage))


def chart(figure: go.Figure) -> None:
    st.plotly_chart(figure, width="stretch", config={"displaylogo": False})
