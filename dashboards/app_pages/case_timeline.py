"""Case timeline: one case (``?case=<process>:<case id>``) in order: its events, the flow runs
and steps that touched it, and the field values that changed — what changed, where, and why."""

from __future__ import annotations

import json

import polars as pl
import streamlit as st

from dashboards import process_data, ui
from dashboards.formatting import (
    code_span,
    field_value_text,
    format_duration,
    is_purged_value,
    steps_text,
)


def render() -> None:
    st.title("Case timeline")
    ui.show_data_as_of()
    case_key = st.text_input(
        "Case (process:case id)", value=st.query_params.get("case", ""), key="case_timeline.case"
    ).strip()  # a pasted key often brings a blank along (the provenance page trims too)
    if not case_key:
        st.info("Open a case from the Process page, or type `process:case id`.")
        return
    st.query_params["case"] = case_key
    case = process_data.case(case_key)
    if case is None:
        st.warning(f"No case {code_span(case_key)} in the published marts.")
        return
    st.subheader(f"{case['process_name']} · {case['case_id']}")
    columns = st.columns(4)
    with columns[0]:
        ui.kpi("Events", str(case["event_count"]), lineage=("fct_cases.event_count",))
    with columns[1]:
        ui.kpi(
            "Cycle time",
            format_duration(case["cycle_time_seconds"]) if case["is_complete"] else "open",
            lineage=("fct_cases.cycle_time_seconds",),
        )
    with columns[2]:
        ui.kpi(
            "First pass",
            "yes" if case["is_first_pass"] else "no",
            lineage=("fct_cases.is_first_pass",),
        )
    with columns[3]:
        ui.kpi(
            "Held by", case["last_event_source"] or "-", lineage=("fct_cases.last_event_source",)
        )
    if case["is_stuck"]:
        st.error(f"Stuck: no event for {format_duration(case['idle_seconds'])} and no end event.")

    st.subheader("Events")
    events = process_data.case_events(case_key)
    st.dataframe(events.drop("field_changes"), hide_index=True)

    st.subheader("Field values that changed")
    changes = [
        {
            "#": row["event_sequence"],
            "at": row["occurred_at"],
            "step": row["step_name"],
            "field": change["field"],
            "from": field_value_text(change["from"]),
            "to": field_value_text(change["to"]),
            "correction": change["is_correction"],
        }
        for row in events.iter_rows(named=True)
        if row["field_changes"]
        for change in json.loads(row["field_changes"])
    ]
    if changes:
        st.dataframe(changes, hide_index=True)
        if any(is_purged_value(c["from"]) or is_purged_value(c["to"]) for c in changes):
            st.caption(
                "(purged …): a value of an event past retention, kept as a digest (its first "
                "hex digits shown): equal values show equal digits."
            )
    else:
        st.write("No data field was set.")

    st.subheader("Flow runs that touched the case")
    runs = process_data.case_runs(case_key)
    if runs.height:
        steps = runs["steps"].map_elements(steps_text, return_dtype=pl.String)
        st.dataframe(runs.with_columns(steps), hide_index=True)
    else:
        st.write("No flow run is linked to this case (by business key or trace).")


ui.run_page(render)
