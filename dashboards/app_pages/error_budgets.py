"""Error budgets: the SLO list for the monthly review, and per SLO its burn-down, burn rates,
attribution, policy state and history. The SLO in view lives in the URL (``?slo=``)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboards import budget_charts, budget_data, ui
from flowledger.budgets.report import (
    no_data_note,
    slice_counts,
    time_to_exhaustion,
    window_label,
)

PERCENT = st.column_config.NumberColumn(format="percent")
RATE = st.column_config.NumberColumn(format="%.2f")


def _pct(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{100 * value:.{digits}f}%"


def render() -> None:
    st.title("Error budgets")
    ui.show_data_as_of()
    if not budget_data.has_budgets():
        st.info(
            "No error-budget marts are published: configure SLOs (config/slos.yml), then `flowledger build`."
        )
        return
    slos = budget_data.slo_list()
    if slos.is_empty():
        st.info("No SLOs are configured: see config/slos.yml and docs/error-budgets.md.")
        return
    as_of = slos["as_of"].max()
    if as_of is None:
        st.info(
            "The published marts hold no flow runs or business events yet, so no SLO has data "
            "yet: ingest some, then `flowledger build`. The configured SLOs:"
        )
        st.dataframe(
            slos.select("slo_id", "display_name", "flow_id", "target", "window_text", "method"),
            hide_index=True,
            column_config={"target": PERCENT},
        )
        return
    st.caption(
        f"Budgets evaluated at {as_of:%Y-%m-%d %H:%M} UTC. Calendar periods count "
        "the budget against the units so far (no forecast of the period total); remaining "
        "budget is not clamped at zero."
    )
    st.markdown("#### SLOs, lowest budget remaining first")
    st.dataframe(
        slos.drop("as_of"),
        hide_index=True,
        column_config={
            "target": PERCENT,
            "sli": PERCENT,
            "budget_remaining": PERCENT,
            "budget_remaining_raw": PERCENT,
            "hours_to_exhaustion": RATE,
        },
    )
    ids = slos["slo_id"].to_list()
    slo_id = st.selectbox(
        "SLO", ids, index=ui.url_choice("slo", ids, "SLO"), key="error_budgets.slo"
    )
    st.query_params["slo"] = slo_id
    slo = budget_data.slo(slo_id)
    if slo is None:
        st.warning(f"SLO {slo_id!r} is not in the published marts.")
        return

    st.subheader(f"{slo['display_name']} ({slo['flow_id']})")
    columns = st.columns(4)
    tiles = [
        ("Budget remaining", _pct(slo["budget_remaining"]), "budget_remaining"),
        ("Budget remaining (raw)", _pct(slo["budget_remaining_raw"]), "budget_remaining_raw"),
        ("SLI", _pct(slo["sli"], 3), "sli"),
        ("State", slo["state"], "state"),
    ]
    for column, (label, value, mart_column) in zip(columns, tiles, strict=True):
        with column:
            ui.kpi(label, value, lineage=(f"fct_error_budgets.{mart_column}",))
    no_data = no_data_note(slo)
    rates = budget_data.burn_rates(slo_id)
    hour = rates.filter(pl.col("window") == "1h")
    # a slice method's counts as the report words them (SLI = 1 − bad / N for Timeslices)
    counted = slice_counts(slo) or f"{slo['good']:.0f} good of {slo['total']:.0f}"
    st.caption(
        f"Target {_pct(slo['target'], 3)}, {window_label(slo)}, {slo['method']}; {counted}. "
        "Time to exhaustion at the 1h burn rate: "
        + time_to_exhaustion(
            bool(no_data), hour["total"][0] if hour.height else None, slo["hours_to_exhaustion"]
        )
        + "."
    )
    if slo["state"] == "EXHAUSTED":
        st.error("Budget exhausted: change freeze (fix and security changes only).")
    if slo["feasibility_warning"]:
        st.warning(f"Feasibility: {slo['feasibility_warning']}")
    if no_data:
        st.warning(no_data)
    elif slo["state"] == "INSUFFICIENT_DATA":
        st.warning(
            f"Insufficient data: fewer than {slo['min_events']} units in the period; burn rates "
            "are not meaningful and no alert fires."
        )

    ui.chart(
        budget_charts.burndown_chart(budget_data.burndown(slo_id), budget_data.annotations(slo_id))
    )

    st.markdown("#### Burn-rate alerts")
    st.dataframe(
        budget_data.burn_table(slo_id),
        hide_index=True,
        column_config={"long_burn_rate": RATE, "short_burn_rate": RATE, "threshold": RATE},
    )
    st.markdown("#### Burn rate per window")
    st.dataframe(
        rates,
        hide_index=True,
        column_config={"error_ratio": PERCENT, "burn_rate": RATE, "hours_to_exhaustion": RATE},
    )

    st.markdown("#### Where the budget went")
    attribution = budget_data.attribution(slo_id)
    if attribution.is_empty():
        st.caption("Nothing consumed the budget in this period.")
    else:
        dimension = st.radio(
            "Split by",
            ["failing_step", "error_type", "connector", "flow_version"],
            horizontal=True,
        )
        ui.chart(budget_charts.attribution_bars(attribution, dimension))
        st.dataframe(
            attribution.filter(attribution["dimension"] == dimension),
            hide_index=True,
            column_config={"budget_consumed": PERCENT, "share_of_consumed": PERCENT},
        )

    st.markdown("#### Policy state history")
    st.dataframe(
        budget_data.state_log(slo_id),
        hide_index=True,
        column_config={"budget_remaining": PERCENT},
    )


ui.run_page(render)
