"""Marquez's dataset versions, from the stored events (``GET /api/v1/namespaces/{ns}/datasets/
{name}/versions[/{version}]``, which Marquez's web UI reads for a dataset's history).

Marquez makes a version of a dataset each time an event writes it: an output of a run's event,
the dataset of a DatasetEvent, an output of a JobEvent. Its id is a name-based UUID of what made
it (``Utils.newDatasetVersionFor``: namespace, name, fields, run), so the events of one run that
write the same fields make one version. A dataset that is only ever read gets one version, from
its first read (Marquez's stop-gap for its issue #1361). Versions are listed newest first.

flowledger's column lineage as of a version (``nodeId=…#<version>``) is the lineage as of the
version's time: :func:`version_time`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lineage.event_order import NewestFacets, Order, epoch_seconds
from lineage.schemas import event_kind

DatasetKey = tuple[str, str]


@dataclass
class DatasetVersion:
    """One version: made by ``run_id``'s events (None: a DatasetEvent, a JobEvent or a read)."""

    namespace: str
    name: str
    version: str
    created_at: str  # the earliest event that made it
    run_id: str | None
    fields: list[dict[str, Any]]
    first: Order  # that event's order
    sent_facets: NewestFacets = field(default_factory=NewestFacets)

    @property
    def facets(self) -> dict[str, Any]:
        return self.sent_facets.current


def dataset_versions(
    events: Iterable[dict[str, Any]], only: DatasetKey | None = None
) -> dict[DatasetKey, list[DatasetVersion]]:
    """Every dataset's versions (only ``only``'s when given), newest first, from the events in
    arrival order."""
    versions: dict[DatasetKey, dict[str, DatasetVersion]] = {}
    first_reads: dict[DatasetKey, tuple[Order, str, dict[str, Any]]] = {}
    for arrival, event in enumerate(events):
        when = str(event.get("eventTime") or "")
        order: Order = (epoch_seconds(when), arrival)
        kind = event_kind(event)
        run = event.get("run") if kind == "RunEvent" else None
        run_id = str(run["runId"]) if isinstance(run, dict) and run.get("runId") else None
        written = [d for d in event.get("outputs") or [] if isinstance(d, dict)]
        if kind == "DatasetEvent" and isinstance(event.get("dataset"), dict):
            written = [event["dataset"]]
        for doc in written:
            key = (str(doc.get("namespace") or ""), str(doc.get("name") or ""))
            if only is not None and key != only:
                continue
            fields = _fields(doc)
            if run_id is not None:
                version = run_version(key, doc, run_id)
            else:  # a DatasetEvent's or a JobEvent's: one version per event
                version = _version_id(key, fields, f"{kind}@{when}#{arrival}")
            kept = versions.setdefault(key, {}).get(version)
            if kept is None:
                kept = versions[key][version] = DatasetVersion(
                    *key, version, when, run_id, fields, order
                )
            elif order < kept.first:
                kept.created_at, kept.first = when, order
            kept.sent_facets.record(doc.get("facets") or {}, order)
        for doc in event.get("inputs") or []:
            if not isinstance(doc, dict):
                continue
            key = (str(doc.get("namespace") or ""), str(doc.get("name") or ""))
            if (only is None or key == only) and (
                key not in first_reads or order < first_reads[key][0]
            ):
                first_reads[key] = (order, when, doc)
    for key, (order, when, doc) in first_reads.items():
        if key in versions:
            continue
        read = DatasetVersion(*key, read_version(key, doc, when), when, None, _fields(doc), order)
        read.sent_facets.record(doc.get("facets") or {}, order)
        versions[key] = {read.version: read}
    return {
        key: sorted(kept.values(), key=lambda v: v.first, reverse=True)
        for key, kept in versions.items()
    }


def version_time(events: Iterable[dict[str, Any]], version: str) -> str | None:
    """The time of the dataset version ``version`` (its earliest event's), None if unknown."""
    for kept in dataset_versions(events).values():
        for found in kept:
            if found.version == version:
                return found.created_at
    return None


def run_version(key: DatasetKey, doc: dict[str, Any], run_id: str) -> str:
    """The id of the version of dataset ``key`` that run ``run_id`` wrote, as an output ``doc``
    of one of its events lists it (its schema fields make the version, with the run)."""
    return _version_id(key, _fields(doc), run_id)


def read_version(key: DatasetKey, doc: dict[str, Any], when: str) -> str:
    """The id of the one version of a dataset only ever read, from its first read ``doc`` at
    ``when`` (Marquez's stop-gap for its issue #1361)."""
    return _version_id(key, _fields(doc), f"read@{when}")


def _fields(doc: dict[str, Any]) -> list[dict[str, Any]]:
    schema = (doc.get("facets") or {}).get("schema")
    listed = schema.get("fields") if isinstance(schema, dict) else None
    return [f for f in listed or [] if isinstance(f, dict) and f.get("name")]


def _version_id(key: DatasetKey, fields: list[dict[str, Any]], made_by: str) -> str:
    shape = [(f.get("name"), f.get("type")) for f in fields]
    return str(uuid.uuid5(uuid.NAMESPACE_URL, json.dumps([*key, shape, made_by])))
