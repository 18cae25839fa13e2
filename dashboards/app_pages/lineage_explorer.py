"""Lineage explorer: pick a mart column and see where it comes from (every step with its
transformation type), or pick a source field and see what it feeds. Deep links:
``?column=<dataset>.<field>&direction=upstream|downstream``."""

from __future__ import annotations

import streamlit as st

from dashboards import lineage_data, ui

DIRECTIONS = {"upstream": "Where does it come from?", "downstream": "What does it feed?"}


def render() -> None:
    st.title("Lineage explorer")
    ui.show_data_as_of()
    choices = lineage_data.column_choices()
    if not choices["marts"] and not choices["sources"]:
        st.info(
            "No column lineage is known yet: run `flowledger build` (the dbt project's lineage is "
            "read from its manifest) or send OpenLineage events to the server."
        )
        return
    direction = st.radio(
        "Question", list(DIRECTIONS), index=ui.url_choice("direction", list(DIRECTIONS), "direction"),
        format_func=DIRECTIONS.get, horizontal=True, key="lineage.direction",
    )  # fmt: skip
    upstream = direction == "upstream"
    options = choices["marts"] if upstream else choices["sources"]
    asked = st.query_params.get("column")
    if asked and asked not in choices["marts"] and asked not in choices["sources"]:
        # the CLI's and the docs' MODEL.COLUMN (fct_cases.cycle_time_seconds)
        label = lineage_data.column_label(asked.strip())
        if label is not None:
            st.query_params["column"] = label
    # A column of the other question in the URL: the user just turned the question around.
    turned = st.query_params.get("column") in (choices["sources"] if upstream else choices["marts"])
    column = st.selectbox(
        "Mart column" if upstream else "Source field",
        options,
        index=0 if turned else ui.url_choice("column", options, "column"),
        key=f"lineage.column.{direction}",
    )
    st.query_params.update({"column": column, "direction": direction})
    result = lineage_data.column_trace(column, direction == "downstream")
    table = lineage_data.trace_table(result)
    direct_only = st.toggle("Only DIRECT steps (hide filters, joins, grouping)", value=False)
    counts = table.group_by("type").len().sort("type").rows()
    st.caption(
        f"{len(table)} steps · "
        + " · ".join(f"{kind or '?'}: {count}" for kind, count in counts)
        + f" · reaches {len(result['leaves'])} "
        + ("source fields" if direction == "upstream" else "end fields")
    )
    note = lineage_data.older_build_note(result)
    if note:
        st.warning(note, icon=":material/history:")
    st.graphviz_chart(lineage_data.trace_dot(result, direct_only=direct_only))
    st.markdown("#### Steps")
    shown = table.filter(table["type"] == "DIRECT") if direct_only else table
    st.dataframe(shown, hide_index=True)
    st.markdown("#### " + ("Source fields reached" if direction == "upstream" else "Fields fed"))
    st.dataframe(
        [{"dataset": leaf["dataset"], "field": leaf["field"]} for leaf in result["leaves"]],
        hide_index=True,
    )
    if result["sql"]:
        with st.expander("SQL of each step"):
            for job, sql in sorted(result["sql"].items()):
                st.markdown(f"`{job}`")
                st.code(sql, language="sql")


ui.run_page(render)
