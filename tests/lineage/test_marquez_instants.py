"""Times in the Marquez-compatible answers are instants written as Marquez writes them (Jackson's
``Instant``: UTC, ``Z``, the fraction in groups of three digits), whatever offset the producer
wrote; the intake takes RFC 3339 date-times (and the two forms Marquez also reads) and refuses
ISO 8601's other forms. Raw events (``/events/lineage``) stay as sent."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from lineage_support import LoopbackServer, get_json, post_event

from lineage.event_order import instant_text

RUN_EVENT = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
#: what java.time.format.DateTimeFormatter.ISO_INSTANT writes (Marquez's Instant fields)
ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{3}|\.\d{6}|\.\d{9})?Z")


def run_event(run_id: str, job: str, event_type: str, when: str, **extra: Any) -> dict[str, Any]:
    return {
        "eventType": event_type,
        "eventTime": when,
        "producer": "https://example.com/instants",
        "schemaURL": RUN_EVENT,
        "run": {"runId": run_id, "facets": {}},
        "job": {"namespace": "instants", "name": job, "facets": {}},
        **extra,
    }


@pytest.mark.parametrize(
    ("sent", "written"),
    [
        ("2026-12-01T10:00:00+05:00", "2026-12-01T05:00:00Z"),
        ("2026-12-01T09:00:00", "2026-12-01T09:00:00Z"),  # no offset: UTC
        ("2026-12-01T09:00:01.5Z", "2026-12-01T09:00:01.500Z"),
        ("2026-12-01T09:00:01.250001-01:00", "2026-12-01T10:00:01.250001Z"),
        ("2020-12-28T19:51:01.641+0000", "2020-12-28T19:51:01.641Z"),
        ("2026-12-01t09:00:00z", "2026-12-01T09:00:00Z"),
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"),
    ],
)
def test_an_event_time_is_written_as_marquez_writes_an_instant(sent: str, written: str) -> None:
    assert instant_text(sent) == written
    assert ISO_INSTANT.fullmatch(written)


def test_run_job_dataset_namespace_and_search_times_are_utc_instants(
    lineage_server: LoopbackServer,
) -> None:
    offsets, no_offset = str(uuid.uuid4()), str(uuid.uuid4())
    output = {"namespace": "instants", "name": "out_table"}
    nominal = {
        "nominalTime": {
            "_producer": "https://example.com/instants",
            "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/NominalTimeRunFacet.json",
            "nominalStartTime": "2026-12-01T11:00:00+02:00",
            "nominalEndTime": "2026-12-01T12:00:00+02:00",
        }
    }
    start = run_event(offsets, "offsets", "START", "2026-12-01T10:00:00+05:00", outputs=[output])
    start["run"]["facets"] = nominal
    for event in (
        start,
        run_event(offsets, "offsets", "COMPLETE", "2026-12-01T06:00:00.5Z", outputs=[output]),
        run_event(no_offset, "notz", "START", "2026-12-01T09:00:00"),
        run_event(no_offset, "notz", "ABORT", "2026-12-01T09:30:00"),
    ):
        assert post_event(lineage_server, event).status_code == 201
    run = get_json(lineage_server, f"jobs/runs/{offsets}")
    assert (run["createdAt"], run["startedAt"], run["endedAt"], run["updatedAt"]) == (
        "2026-12-01T05:00:00Z",
        "2026-12-01T05:00:00Z",
        "2026-12-01T06:00:00.500Z",
        "2026-12-01T06:00:00.500Z",
    )
    assert (run["nominalStartTime"], run["nominalEndTime"]) == (
        "2026-12-01T09:00:00Z",
        "2026-12-01T10:00:00Z",
    )
    assert run["durationMs"] == 3_600_500
    bare = get_json(lineage_server, f"jobs/runs/{no_offset}")
    assert (bare["startedAt"], bare["endedAt"]) == ("2026-12-01T09:00:00Z", "2026-12-01T09:30:00Z")
    job = get_json(lineage_server, "namespaces/instants/jobs/offsets")
    assert (job["createdAt"], job["updatedAt"]) == (
        "2026-12-01T05:00:00Z",
        "2026-12-01T06:00:00.500Z",
    )
    assert job["latestRun"]["startedAt"] == "2026-12-01T05:00:00Z"
    dataset = get_json(lineage_server, "namespaces/instants/datasets/out_table")
    assert (dataset["createdAt"], dataset["updatedAt"], dataset["lastModifiedAt"]) == (
        "2026-12-01T05:00:00Z",
        "2026-12-01T06:00:00.500Z",
        "2026-12-01T06:00:00.500Z",
    )
    versions = get_json(lineage_server, "namespaces/instants/datasets/out_table/versions")[
        "versions"
    ]
    assert versions and all(ISO_INSTANT.fullmatch(v["createdAt"]) for v in versions)
    namespace = get_json(lineage_server, "namespaces/instants")
    assert (namespace["createdAt"], namespace["updatedAt"]) == (
        "2026-12-01T05:00:00Z",
        "2026-12-01T09:30:00Z",
    )
    found = get_json(lineage_server, "search", q="o", sort="UPDATE_AT")["results"]
    # newest first, by instant
    assert found[0] == {
        "type": "JOB",
        "name": "notz",
        "updatedAt": "2026-12-01T09:30:00Z",
        "namespace": "instants",
        "nodeId": "job:instants:notz",
    }
    assert {(r["name"], r["updatedAt"]) for r in found[1:]} == {
        ("offsets", "2026-12-01T06:00:00.500Z"),
        ("out_table", "2026-12-01T06:00:00.500Z"),
    }
    lineage = get_json(lineage_server, "lineage", nodeId="job:instants:offsets")["graph"]
    times = [n["data"][k] for n in lineage for k in ("createdAt", "updatedAt")]
    assert times and all(ISO_INSTANT.fullmatch(t) for t in times)
    # the raw events stay as the producer wrote them
    raw = get_json(lineage_server, "events/lineage", sortDirection="asc")["events"]
    assert "2026-12-01T10:00:00+05:00" in [e["eventTime"] for e in raw]


@pytest.mark.parametrize(
    "when",
    [
        "2026-W49-2T10:00:00Z",  # a week date
        "20261201T100000Z",  # the basic format
        "2026-12-01T10:00:00,5Z",  # a comma before the fraction
        "2026-12-01T10:00:00.Z",  # a dot without a fraction
        "2026-12-01T10:00Z",  # no seconds
        "2026-12-01T10Z",
        "2026-335T10:00:00Z",  # an ordinal date
    ],
)
def test_iso_8601_forms_that_are_no_rfc_3339_date_time_are_refused(
    lineage_server: LoopbackServer, when: str
) -> None:
    answer = post_event(lineage_server, run_event(str(uuid.uuid4()), "forms", "START", when))
    assert answer.status_code == 400, answer.text
    message = answer.json()["message"]
    assert message.startswith(f"eventTime {when!r} is not an ISO 8601 date-time in RFC 3339")
    assert "2026-01-31T12:00:00.5Z" in message
    nominal = run_event(str(uuid.uuid4()), "forms", "START", "2026-12-01T10:00:00Z")
    nominal["run"]["facets"]["nominalTime"] = {
        "_producer": "https://example.com/instants",
        "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/NominalTimeRunFacet.json",
        "nominalStartTime": when,
    }
    answer = post_event(lineage_server, nominal)
    assert answer.status_code == 400
    assert "run.facets.nominalTime.nominalStartTime" in answer.json()["message"]
