"""A streaming reader of XES (IEEE 1849) event logs: memory does not grow with the file.

Traces are parsed one at a time with ``xml.etree.ElementTree.iterparse`` and dropped once read
(one trace is held in memory at a time).
Read per event: ``concept:name`` (activity), ``time:timestamp`` (with its time-zone offset),
``org:resource``, ``lifecycle:transition`` and every other attribute; per trace: ``concept:name``
(the case id) and its other attributes (as ``case_<name>``). Global defaults (``<global
scope="event">``) fill attributes an event does not carry, except its activity and timestamp
(placeholders there: an event without them is quarantined). Nested attributes (lists, containers)
are kept as JSON objects of their children.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingest.compressed import DECOMPRESSION_ERRORS, open_binary
from ingest.eventlog.records import LogEvent

CONCEPT_NAME, TIMESTAMP = "concept:name", "time:timestamp"
RESOURCE, LIFECYCLE = "org:resource", "lifecycle:transition"
_TYPED = {"string", "date", "int", "float", "boolean", "id"}
#: Global defaults never given to an event: tools write placeholders there ("__INVALID__", the
#: 1970 epoch) meaning "missing"; an event without them is quarantined (PM4Py cannot use it either).
NO_DEFAULT = frozenset({CONCEPT_NAME, TIMESTAMP})


class XesError(ValueError):
    """The file is not a readable XES log."""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _value(element: ET.Element) -> Any:
    kind = _local(element.tag)
    raw = element.get("value")
    if kind == "int":
        try:
            return int(raw or "")
        except ValueError:
            return raw
    if kind == "float":
        try:
            return float(raw or "")
        except ValueError:
            return raw
    if kind == "boolean":
        return (raw or "").strip().lower() == "true"
    if kind in _TYPED:
        return raw
    children = {c.get("key", str(i)): _value(c) for i, c in enumerate(element)}
    return children or raw


def _attributes(element: ET.Element) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    for child in element:
        kind = _local(child.tag)
        if kind in ("event", "trace", "global", "extension", "classifier"):
            continue
        key = child.get("key")
        if key is not None:
            attributes[key] = _value(child)
    return attributes


def read_xes(path: Path) -> Iterator[LogEvent]:
    """Every event of the log, trace by trace, in file order."""
    event_defaults: dict[str, Any] = {}
    trace_attributes: dict[str, Any] = {}
    trace_events: list[dict[str, Any]] = []
    stack: list[str] = []
    root: ET.Element | None = None
    try:
        with open_binary(path) as handle:
            for action, element in ET.iterparse(handle, events=("start", "end")):
                kind = _local(element.tag)
                if action == "start":
                    if not stack:
                        if kind != "log":
                            raise XesError(
                                f"{path}: the root element is <{kind}>, not <log>: not an XES file"
                            )
                        root = element
                    stack.append(kind)
                    continue
                stack.pop()
                parent = stack[-1] if stack else None
                if kind == "global" and element.get("scope", "event") == "event":
                    event_defaults = {
                        key: value
                        for key, value in _attributes(element).items()
                        if key not in NO_DEFAULT
                    }
                elif kind == "event":
                    attributes = {**event_defaults, **_attributes(element)}
                    if parent == "trace":
                        trace_events.append(attributes)
                    else:  # an event outside any trace has no case: quarantined as such
                        yield _event({}, attributes)
                    element.clear()
                elif kind == "trace":
                    # one trace is held at a time (its attributes may follow its events)
                    for attributes in trace_events:
                        yield _event(trace_attributes, attributes)
                    trace_attributes, trace_events = {}, []
                    if root is not None:
                        root.clear()  # drop the finished trace: memory stays flat
                elif parent == "trace" and element.get("key") is not None:
                    trace_attributes[element.get("key", "")] = _value(element)
            if root is None:
                raise XesError(f"{path}: empty file, expected an XES <log>")
    except ET.ParseError as error:
        raise XesError(f"{path}: not well-formed XML ({error})") from None
    except DECOMPRESSION_ERRORS as error:  # log.xes.gz that is no gzip, or is cut short
        raise XesError(f"{path}: cannot be read ({error or type(error).__name__})") from None


def _event(trace_attributes: dict[str, Any], attributes: dict[str, Any]) -> LogEvent:
    case_id = trace_attributes.get(CONCEPT_NAME)
    activity = attributes.pop(CONCEPT_NAME, None)
    timestamp = attributes.pop(TIMESTAMP, None)
    resource = attributes.pop(RESOURCE, None)
    lifecycle = attributes.pop(LIFECYCLE, None)
    extra = {f"case_{k}": v for k, v in trace_attributes.items() if k != CONCEPT_NAME}
    extra.update(attributes)
    return LogEvent(
        case_id=None if case_id is None else str(case_id),
        activity=None if activity is None else str(activity),
        timestamp=timestamp,
        resource=None if resource is None else str(resource),
        lifecycle=None if lifecycle is None else str(lifecycle),
        attributes=extra,
    )
