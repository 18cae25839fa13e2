"""Column lineage as of a time when the events writing one dataset arrive out of event-time order
(a producer's retry, a late batch, a day's events in a later file): each event's edges are valid
from its time (inclusive) until the next newer event's time (exclusive), whatever the arrival
order, so an as-of read sees exactly one event's edges; the current read is the newest event's,
as in Marquez."""

from __future__ import annotations

from itertools import permutations

import pytest
from test_current_lineage import RN, RN_IS_A_WINDOW, dbt_ol_event, kinds, typed, untyped

from lineage.graph import FieldKey, LineageGraph
from lineage.marquez import column_lineage

T1, T2, T3 = "2026-05-01T10:00:00Z", "2026-05-01T11:00:00Z", "2026-05-01T12:00:00Z"
SOURCE_WRITTEN_AT = {T1: "a", T2: "b", T3: "c"}  # out.x is derived from src.<source>
X = FieldKey("r2", "out", "x")


ARRIVALS = [
    *permutations((T1, T2, T3)),
    (T1, T3, T2, T2),  # the same event sent twice counts once
    (T3, T1, T2, T1, T3),
    (T2, T2, T1, T3, T1),
]
#: (as of, the sources out.x is read from then); None is the current read
READS = [
    ("2026-05-01T09:59:59Z", []),  # before the first event
    (T1, ["a"]),  # valid_from is inclusive
    ("2026-05-01T10:30:00Z", ["a"]),
    (T2, ["b"]),  # valid_to is exclusive: a ends where b begins
    ("2026-05-01T11:30:00Z", ["b"]),
    (T3, ["c"]),
    ("2026-05-02T00:00:00Z", ["c"]),
    (None, ["c"]),
]


def arrival_id(order: tuple[str, ...]) -> str:
    return "-".join(f"t{(T1, T2, T3).index(when) + 1}" for when in order)


@pytest.mark.parametrize("order", ARRIVALS, ids=arrival_id)
def test_as_of_reads_see_one_event_whatever_the_arrival_order(order: tuple[str, ...]) -> None:
    graph = LineageGraph.from_events(
        typed("build_out", when, SOURCE_WRITTEN_AT[when]) for when in order
    )
    for as_of, sources in READS:
        upstream = graph.upstream_edges(X, as_of)
        assert sorted(edge.input.field for edge in upstream) == sources, as_of
        for source in "abc":  # downstream reads agree
            downstream = graph.downstream_edges(FieldKey("r2", "src", source), as_of)
            assert len(downstream) == (source in sources), (as_of, source)
        if sources:
            answer = column_lineage(graph, X.node_id, depth=1, as_of=as_of)["graph"]
            node = next(n for n in answer if n["id"] == X.node_id)
            assert [f["field"] for f in node["data"]["inputFields"]] == sources, as_of


@pytest.mark.parametrize("newer_first", [True, False])
def test_an_older_dbt_ol_event_arriving_late_keeps_its_own_parsed_lineage(
    newer_first: bool,
) -> None:
    """The parsed SQL replaces the producer's untyped edges of its own event only: a late older
    event neither leaves its untyped guesses in the past nor retires the newer event's edges."""
    older = dbt_ol_event(T1)  # rn is a window over grp, ts
    newer = dbt_ol_event(T2)
    newer["job"]["facets"]["sql"]["query"] = "select id, ts as rn, grp from db.main.src"
    lineage = newer["outputs"][0]["facets"]["columnLineage"]["fields"]
    lineage.update(rn=untyped("ts"), grp=untyped("grp"))
    graph = LineageGraph.from_events([newer, older] if newer_first else [older, newer])
    assert kinds(graph.upstream_edges(RN, T1)) == RN_IS_A_WINDOW
    renamed = {("ts", "rn", "DIRECT", "IDENTITY")}
    assert kinds(graph.upstream_edges(RN, T2)) == kinds(graph.upstream_edges(RN)) == renamed
    grp = FieldKey(RN.namespace, RN.dataset, "grp")
    assert kinds(graph.upstream_edges(grp)) == {("grp", "grp", "DIRECT", "IDENTITY")}
    assert "grp" in graph.datasets[(RN.namespace, RN.dataset)].fields
