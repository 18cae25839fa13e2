"""Record provenance: entity + key → every tracked field's history (value, source system, flow
run, time) with ownership violations highlighted, and every violation. Deep links:
``?entity=order&key=O-00000123``."""

from __future__ import annotations

import streamlit as st

from dashboards import lineage_data, ui
from dashboards.formatting import code_span


def render() -> None:
    st.title("Record provenance")
    ui.show_data_as_of()
    entities = lineage_data.entities()
    if not entities:
        st.info(
            "No record writes are published. Either no business events are built yet (ingest "
            "them, then `flowledger build`), or none of them is of an event type that writes a "
            "declared entity with its key field: entities are declared in the data contract "
            "(`contracts/business_event.odcs.yaml`, `fieldOwnership`) and in "
            "`<data dir>/field_ownership.yml`, the place for your own (docs/lineage.md)."
        )
        return
    params = st.query_params
    entity = st.selectbox(
        "Entity",
        entities,
        index=ui.url_choice("entity", entities, "entity"),
        key="provenance.entity",
    )
    key = st.text_input(
        "Key",
        value=params.get("key", ""),
        placeholder=f"the {entity}'s key, as its events write it",
        key="provenance.key",
    ).strip()
    st.query_params.update({"entity": entity, **({"key": key} if key else {})})

    violations = lineage_data.violations()
    st.metric("Ownership violations (all records)", len(violations))
    if key:
        writes = lineage_data.record_writes(entity, key)
        if writes.is_empty():
            st.warning(f"No tracked field of {entity} {code_span(key)} was written.")
        else:
            summary = lineage_data.field_summary(writes)
            st.markdown(f"#### {entity} {key}: current values")
            st.dataframe(summary, hide_index=True)
            for row in summary.filter(summary["tied_with"].is_not_null()).iter_rows(named=True):
                st.warning(
                    f"{row['field_name']}: another value was written at the very time of the "
                    f"current one (by {row['tied_with']}): the current value is the write whose "
                    "event id sorts last, not a later write."
                )
            flagged = int(summary["ownership_violations"].sum())
            if flagged:
                st.error(
                    f"{flagged} write(s) of this record broke field ownership (marked ⚠ below)."
                )
            st.markdown("#### Every write")
            history = writes.select(
                "field_name", "write_sequence", "field_value", "event_source", "system_of_record",
                "occurred_at", "flow_id", "run_key", "event_id", "event_type",
                "is_current", "is_ownership_violation",
            ).with_columns(
                ownership=writes["is_ownership_violation"].map_elements(
                    lambda bad: "⚠ violation" if bad else "ok", return_dtype=str
                )
            )  # fmt: skip
            st.dataframe(
                history.to_pandas().style.apply(
                    lambda row: [
                        "background-color: #ffd6d6" if row["is_ownership_violation"] else ""
                        for _ in row
                    ],
                    axis=1,
                ),
                hide_index=True,
            )
    st.markdown("#### All ownership violations")
    if violations.is_empty():
        st.success("No field was written by a system that does not own it.")
    else:
        st.dataframe(violations, hide_index=True)


ui.run_page(render)
