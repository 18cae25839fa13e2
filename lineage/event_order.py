"""The order of OpenLineage events, and facets kept as the newest event sent them.

Events may arrive out of event-time order (a producer's retry, a late batch, a day's events in a
later file, two producers' batches crossing), and current reads must be those of in-order
arrival. So what an event says is recorded with its :data:`Order`, and a late older event never
overrides what a newer one said: a dataset's details (lineage/dataset_details.py) and the
facets of jobs and runs (lineage/graph.py) are kept so.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
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


class NewestFacets:
    """Facets by name, each the one the newest event sending it sent (facets the newest event
    leaves out stay as the older events sent them, as when events arrive in order)."""

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
                self.current[name] = facet
                self._orders[name] = order

    def merge(self, other: NewestFacets) -> None:
        """Take ``other``'s facets where they are the newer (what two names of one job kept)."""
        for name, facet in other.current.items():
            self.record({name: facet}, other._orders[name])
