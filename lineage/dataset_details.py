"""A dataset's details as the newest event by eventTime left them, whatever order the events
arrive in: its facets, its fields and their types, and the columns and notes parsed from the SQL
that writes it.

Events may arrive out of event-time order, and current reads must be those of in-order
arrival: the newest event by eventTime wins, as for column lineage (lineage/graph.py). So every
change carries its event's order (lineage/event_order.py) and a late older change never
overrides a newer one:

- each facet (and so the documentation) is the one the newest event sending it sent;
- the derived columns (what ``select *`` over the dataset expands to) and the parser's notes
  are those of the newest event parsed;
- the fields keep their history, because a late older event still counts at its own time: the
  fields it names stay unless a newer complete parse of the dataset's SQL drops them, and its
  own parse drops only fields named before it. The current fields are that history applied in
  event-time order, and an as-of read gets the fields of its time the same way.

The facets and the derived columns and notes keep no history (only the newest value and its
order): a read as of a past time sees the current ones.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from lineage.event_order import NEVER, NewestFacets, Order, is_deleted

NOTES_FACET = "flowledger_lineageNotes"  # custom dataset facet: what could not be placed, why


@dataclass
class _FieldChange:
    """One event's change to a dataset's fields.

    ``schema``: a ``schema`` facet gives fields with their types, and is the list of fields a
    parse keeps; ``named``: column lineage names fields (types unknown); ``selected``: a complete
    parse of the SQL writing the dataset selects these columns (lower case), and the fields
    neither selected nor in the schema go; ``unschema``: the ``schema`` facet was deleted
    (``_deleted: true``), and the fields the schema gave go (those only column lineage or a
    parse named stay)."""

    order: Order
    kind: Literal["schema", "named", "selected", "unschema"]
    names: dict[str, str | None]


def _apply(
    fields: dict[str, str | None], declared: frozenset[str], change: _FieldChange
) -> frozenset[str]:
    """Apply ``change`` to ``fields``; returns the fields the schema now declares."""
    if change.kind == "schema":
        fields.update(change.names)
        return frozenset(name.lower() for name in change.names)
    if change.kind == "unschema":
        for name in list(fields):
            if name.lower() in declared:
                del fields[name]
        return frozenset()
    if change.kind == "named":
        for name in change.names:
            fields.setdefault(name, None)
    else:
        for name in list(fields):
            if name.lower() not in change.names and name.lower() not in declared:
                del fields[name]
    return declared


class DatasetFields:
    """A dataset's fields (name → type) from its changes applied in event-time order.

    A change that is the newest so far (the usual case) is applied to the current fields at
    once; a late older one is put in its place in the history, and the fields are worked out
    again from the history when next read."""

    def __init__(self) -> None:
        self._changes: list[_FieldChange] = []  # in event-time order
        self._last: _FieldChange | None = None  # the change recorded last
        self._current: dict[str, str | None] = {}
        self._declared: frozenset[str] = frozenset()
        self._stale = False

    def schema(self, types: Mapping[str, str | None], order: Order) -> None:
        self._record(_FieldChange(order, "schema", dict(types)))

    def schema_deleted(self, order: Order) -> None:
        self._record(_FieldChange(order, "unschema", {}))

    def named(self, names: Iterable[str], order: Order) -> None:
        last = self._last
        if last is None or last.order != order or last.kind != "named":
            last = _FieldChange(order, "named", {})  # the event's column lineage: one change
            self._record(last)
        applied = last is self._changes[-1] and not self._stale
        for name in names:
            if name not in last.names:
                last.names[name] = None
                if applied:
                    self._current.setdefault(name, None)
        self._stale = not applied

    def unnamed(self, name: str, order: Order) -> None:
        """The event of ``order`` named ``name`` by mistake (an edge of it retired): that change
        no longer names it; the field stays when another change gives it."""
        for change in self._changes:
            if change.order == order and change.kind == "named" and name in change.names:
                del change.names[name]
                self._stale = True

    def selected(self, columns: Iterable[str], order: Order) -> None:
        self._record(_FieldChange(order, "selected", dict.fromkeys(c.lower() for c in columns)))

    def current(self) -> Mapping[str, str | None]:
        if self._stale:
            self._current, self._declared = _replay(self._changes)
            self._stale = False
        return self._current

    def as_of(self, time: float) -> Mapping[str, str | None]:
        """The fields after the changes of the events up to ``time`` (epoch seconds)."""
        upto = bisect_right(self._changes, time, key=lambda change: change.order[0])
        return _replay(self._changes[:upto])[0]

    def _record(self, change: _FieldChange) -> None:
        at = bisect_right(self._changes, change.order, key=lambda c: c.order)
        self._changes.insert(at, change)
        self._last = change
        if at == len(self._changes) - 1 and not self._stale:
            self._declared = _apply(self._current, self._declared, change)
        else:
            self._stale = True


def _replay(changes: Iterable[_FieldChange]) -> tuple[dict[str, str | None], frozenset[str]]:
    fields: dict[str, str | None] = {}
    declared: frozenset[str] = frozenset()
    for change in changes:
        declared = _apply(fields, declared, change)
    return fields, declared


@dataclass
class DatasetDetails:
    """What the events said about a dataset: each detail as the newest event giving it gave it."""

    sent_facets: NewestFacets = field(default_factory=NewestFacets)
    fields: DatasetFields = field(default_factory=DatasetFields)
    derived_columns: list[str] = field(default_factory=list)  # parsed from the producing SQL
    lineage_notes: list[str] = field(default_factory=list)  # what the parser could not place
    _derived_order: Order = field(default=NEVER, repr=False)
    _notes_order: Order = field(default=NEVER, repr=False)

    @property
    def facets(self) -> dict[str, Any]:
        return self.sent_facets.current

    @property
    def description(self) -> str | None:
        return self.sent_facets.description

    def listed(self, facets: Mapping[str, Any], order: Order) -> None:
        """An event listed the dataset (as an input or an output) with ``facets``."""
        self.sent_facets.record(facets, order)
        if is_deleted(facets.get("schema")):
            self.fields.schema_deleted(order)
        elif "schema" in facets:
            schema = facets["schema"]
            items = schema.get("fields") if isinstance(schema, dict) else None
            self.fields.schema(
                {
                    str(item["name"]): item.get("type")
                    for item in items or []
                    if isinstance(item, dict) and item.get("name")
                },
                order,
            )
        notes = facets.get(NOTES_FACET)
        if isinstance(notes, dict) and isinstance(notes.get("notes"), list):
            self.noted([str(n) for n in notes["notes"]], order)

    def derived(self, columns: list[str], order: Order) -> None:
        """The columns the SQL writing the dataset selects (``select *`` over it expands to)."""
        if order >= self._derived_order:
            self.derived_columns, self._derived_order = columns, order

    def noted(self, notes: list[str], order: Order) -> None:
        """What the parser (flowledger's, or the producer's own) could not place."""
        if order >= self._notes_order:
            self.lineage_notes, self._notes_order = notes, order
