"""Pure figure builders of the process page, on frames small enough to check by hand."""

from __future__ import annotations

from datetime import date

import polars as pl

from dashboards.process_charts import (
    directly_follows_graph,
    rework_by_kind,
    sla_attainment_trend,
)
from dashboards.process_data import ProcessRangeKpis

DFG = pl.DataFrame(
    {
        "from_step": ["a", "b", "b", "a"],
        "to_step": ["b", "c", "b", "c"],
        "transitions": [5, 3, 2, 1],
        "wait_mean_seconds": [3600.0, 7200.0, 0.0, 60.0],
        "wait_median_seconds": [1800.0, 5400.0, 0.0, 60.0],
        "wait_p95_seconds": [9000.0, 18000.0, 0.0, 60.0],
    }
)


def test_directly_follows_graph_has_a_node_per_step_and_a_link_per_pair():
    sankey = directly_follows_graph(DFG).data[0]
    labels = list(sankey.node.label)
    assert labels == ["a", "b", "c"]
    links = [
        (labels[s], labels[t], v)
        for s, t, v in zip(sankey.link.source, sankey.link.target, sankey.link.value, strict=True)
    ]
    assert links == [("a", "b", 5), ("b", "c", 3), ("b", "b", 2), ("a", "c", 1)]
    assert list(sankey.link.customdata) == [
        "median wait 0.5 h, p95 2.5 h",
        "median wait 1.5 h, p95 5.0 h",
        "median wait 0.0 h, p95 0.0 h",
        "median wait 0.0 h, p95 0.0 h",
    ]


def test_directly_follows_graph_draws_only_the_most_frequent_pairs():
    sankey = directly_follows_graph(DFG, max_links=2).data[0]
    assert list(sankey.link.value) == [5, 3]
    assert list(sankey.node.label) == ["a", "b", "c"]


def test_sla_attainment_trend_plots_the_weekly_share():
    weekly = pl.DataFrame(
        {
            "period_start": [date(2024, 1, 1), date(2024, 1, 8), date(2024, 1, 15)],
            "sla_attainment": [0.75, None, 1.0],
        }
    )
    figure = sla_attainment_trend(weekly)
    line = figure.data[0]
    assert list(line.y) == [0.75, None, 1.0]
    assert list(line.x) == [date(2024, 1, 1), date(2024, 1, 8), date(2024, 1, 15)]
    assert figure.layout.yaxis.tickformat == ".0%"


def test_rework_bars_read_their_shares_as_the_tiles_do():
    """The bars' labels rounded as Python does (1.25 % read "1.2%") beside tiles that read
    "1.3%"; a share of an empty cohort is "n/a", not 0 %."""
    kpis = ProcessRangeKpis(
        cases_started=800,
        cases_completed=10,
        cycle_time_median_seconds=None,
        cycle_time_p95_seconds=None,
        repeated_activity_rate=0.0125,
        field_correction_rate=0.5,
        gray_failure_rate=None,
        first_pass_yield=0.4875,
        sla_cases=0,
        sla_attainment=None,
        stuck_cases=0,
        cycle_definition="first to last event",
    )
    assert list(rework_by_kind(kpis).data[0].text) == ["1.3%", "50.0%", "n/a", "48.8%"]
