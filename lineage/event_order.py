"""The order of OpenLineage events, and facets kept as the newest event sent them.

Events may arrive out of event-time order (a producer's retry, a late batch, a day's events in a
later file, two producers' batches crossing), and current reads must be those of in-order
arrival. So what an event says is recorded with its :data:`Order`, and a late older event never
overrides what a newer one said: a dataset's details (lineage/dataset_details.py) and the
facets of jobs and runs (lineage/graph.py) are kept so; what an event borrows from older events
(a job's SQL, which a COMPLETE leaves to its START) is read as of the event (:class:`History`).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

#: (event time in epoch seconds, arrival number): of two events of the same time, the later
#: arrival is the newer
Order = tuple[float, int]
NEVER: Order = (float("-inf"), -1)


def parse_time(text: str) -> datetime:
    """An ISO 8601 date-time as OpenLineage sends it (``Z`` or ``±hh:mm``, RFC 3339), naive when
    it names no offset; ValueError when it is none. The one parser of event times: the intake
    checks them with it, and the graph and the store order events by it."""
    return datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))


def utc_time(text: str) -> datetime:
    """:func:`parse_time`, a date-time naming no offset taken as UTC; ValueError when none."""
    parsed = parse_time(text)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


#: The date-times the intake takes: RFC 3339's ``date-time`` (the OpenLineage schemas' ``format:
#: date-time``: a full date, ``T``, hours, minutes and seconds, an optional fraction after a dot,
#: ``Z`` or ``±hh:mm``; ``t`` and ``z`` in either case), and two forms Marquez also reads
#: (``FlexibleDateTimeDeserializer``): no offset (read as UTC) and an offset without its colon
#: (``+0000``). ISO 8601's other forms, which Python's ``fromisoformat`` reads too (week dates,
#: the basic format, a comma or a bare dot before the fraction, no seconds), are refused.
RFC_3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:?\d{2})?")


def instant_text(text: str | None) -> str | None:
    """An event time as Marquez writes an instant (Jackson's ``Instant``, ISO_INSTANT): in UTC
    with ``Z``, seconds always, the fraction in groups of three digits as it needs them
    (``…T04:00:00Z``, ``…T04:00:01.500Z``, ``…T04:00:01.250001Z``). A time without an offset is
    UTC; None stays None, and what is no date-time (written by no producer since the intake
    checks times) is left as it is."""
    if not text:
        return text
    try:
        when = utc_time(text.strip()).astimezone(UTC)
    except (ValueError, OverflowError):
        return text
    micros = when.microsecond
    if micros == 0:
        fraction = ""
    elif micros % 1000 == 0:
        fraction = f".{micros // 1000:03d}"
    else:
        fraction = f".{micros:06d}"
    return f"{when.year:04d}-{when:%m-%dT%H:%M:%S}{fraction}Z"


def epoch_seconds(text: str) -> float:
    """An event time (ISO 8601, ``Z`` or an offset; none means UTC) as epoch seconds, the
    instant events are ordered by; 0.0 when it is empty or no date-time. The one conversion:
    the graph, the store, the run log and the API order and compare times with it."""
    cached = _EPOCH_SECONDS.get(text)
    if cached is not None:
        return cached
    if not text:
        return 0.0
    try:
        result = utc_time(text.strip()).timestamp()
    except ValueError:
        return 0.0
    if len(_EPOCH_SECONDS) < 100_000:
        _EPOCH_SECONDS[text] = result
    return result


_EPOCH_SECONDS: dict[str, float] = {}  # event times repeat: parsed once each


def is_deleted(facet: Any) -> bool:
    """A facet sent with ``_deleted: true``: OpenLineage's way to remove a job's or a dataset's
    facet from its current state (the spec's ``JobFacet``/``DatasetFacet`` ``_deleted``)."""
    return isinstance(facet, dict) and facet.get("_deleted") is True


class NewestFacets:
    """Facets by name, each the one the newest event sending it sent (facets the newest event
    leaves out stay as the older events sent them, as when events arrive in order). A facet
    the newest event sent with ``_deleted: true`` is gone (:func:`is_deleted`), until a newer
    event sends it again; an older event arriving late does not bring it back."""

    def __init__(self) -> None:
        self.current: dict[str, Any] = {}
        self._orders: dict[str, Order] = {}

    @property
    def description(self) -> str | None:
        """The ``documentation`` facet's description."""
        documentation = self.current.get("documentation")
        return documentation.get("description") if isinstance(documentation, dict) else None

    def order_of(self, name: str) -> Order:
        """The order of the event that sent the current facet ``name`` (``NEVER`` if none)."""
        return self._orders.get(name, NEVER)

    def record(self, facets: Mapping[str, Any], order: Order) -> None:
        """An event of ``order`` sent ``facets``."""
        for name, facet in facets.items():
            if order >= self._orders.get(name, NEVER):
                if is_deleted(facet):
                    self.current.pop(name, None)
                else:
                    self.current[name] = facet
                self._orders[name] = order

    def merge(self, other: NewestFacets) -> None:
        """Take ``other``'s facets where they are the newer (what two names of one job kept),
        its deletions too."""
        for name, order in other._orders.items():
            self.record({name: other.current.get(name, _DELETED)}, order)


_DELETED = {"_deleted": True}


class History:
    """Every value events sent of one thing (a job's ``sql`` facet), by the event's order, read
    as of an event: the newest no newer than it, as in-order arrival would have it then."""

    def __init__(self) -> None:
        self._sent: list[tuple[Order, Any]] = []

    def record(self, value: Any, order: Order) -> None:
        """An event of ``order`` sent ``value``."""
        at = bisect_right(self._sent, order, key=_order_of)
        if at and self._sent[at - 1][0] == order:
            self._sent[at - 1] = (order, value)
        else:
            self._sent.insert(at, (order, value))

    def as_of(self, order: Order) -> tuple[Order, Any]:
        """The newest value sent no later than ``order``, and its event's order (``NEVER``,
        None: none)."""
        at = bisect_right(self._sent, order, key=_order_of)
        return self._sent[at - 1] if at else (NEVER, None)

    def merge(self, other: History) -> None:
        """Take ``other``'s values too (what two names of one job were sent)."""
        for order, value in other._sent:
            self.record(value, order)


def _order_of(sent: tuple[Order, Any]) -> Order:
    return sent[0]
