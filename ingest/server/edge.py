"""Contract checks and scrubbing at the edge, one decoded record at a time.

The file-ingest path checks whole batches with one DuckDB query (:mod:`ingest.validate`). A
receiver answers each request in a few milliseconds, where a DuckDB query per request costs
~50 ms per 500 records, so this module compiles the same contract into plain Python checks with
the same rules and the same reason texts: required fields, the logical types (integers, finite
numbers, booleans, RFC 3339 timestamps, JSON objects), closed value sets, patterns, minimums and
the defaults of :mod:`ingest.validate`. ``tests/server/test_edge.py`` runs both over the same
tricky values and asserts they agree. The drainer lands spooled records with the file-ingest
path, which checks them again, so the SQL checks stay the authority.

Accepted records come back *normalised* (typed values, timestamps in UTC as
``YYYY-MM-DDTHH:MM:SS.ffffffZ``, defaults filled in), so the edge hash of a record is the same
whatever spelling the client used, as the warehouse's ``_payload_hash`` is.
"""

from __future__ import annotations

import functools
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import polars as pl

from ingest.contracts import Contract, LogicalType, Property
from ingest.json_values import NotStandardJson, Pairs, loads_standard, value_as_text
from ingest.key_types import key_type_problem, string_key_fields
from ingest.scrub import (
    canonical_json,
    rewritten_key_reason,
    scrub_data,
    scrub_free_text,
    scrubber_for,
)
from ingest.validate import (
    DEFAULT_FROM_FIELD,
    DEFAULT_VALUES,
    INTEGER_PATTERN,
    RFC3339_PATTERN,
    TRIMMED_BLANKS,
    quoted_value,
)

_BLANK_START = " \t\r\n"
_INTEGER = re.compile(INTEGER_PATTERN)
_RFC3339 = re.compile(RFC3339_PATTERN)
_BOOLEANS = {"true": True, "false": False, "1": True, "0": False}
_INT64 = (-(2**63), 2**63 - 1)
#: Nesting deeper than this inside a record is refused (JSON bombs, recursion limits).
MAX_DEPTH = 64


class NotChecked(Exception):
    """Raised by a field check: the field's problem, in the words of :mod:`ingest.validate`."""


def _present(value: Any) -> str | None:
    """The text form the file path sees, ``None`` when absent, empty or blank."""
    if value.__class__ is str and value and value[0] not in " \t\r\n":
        return value
    text = value_as_text(value)
    # blank as DuckDB's RE2 reads ``\s`` (ingest/validate.py), not as Python's strip(): a
    # no-break space is text
    if text is None or text == "" or (text[0] in " \t\r\n" and not text.strip(" \t\n\f\r")):
        return None
    return text


def _to_integer(text: str) -> int | None:
    if not _INTEGER.match(text):
        return None
    # the pattern admits only zeros after the point: the whole part is the value (no float, so
    # a 400-digit number is just out of range, not an OverflowError)
    number = int(text.split(".", 1)[0])
    return number if _INT64[0] <= number <= _INT64[1] else None


def _to_number(text: str) -> float | None:
    if not text.isascii():
        return None  # Python's float() also reads other scripts' digits and blanks; DuckDB not
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _to_boolean(text: str) -> bool | None:
    return _BOOLEANS.get(text.strip(TRIMMED_BLANKS).lower())  # as DuckDB's lower(trim())


@functools.lru_cache(maxsize=8192)
def _to_timestamp(text: str) -> str | None:
    if not _RFC3339.match(text):
        return None
    try:
        moment = datetime.fromisoformat(text.strip().upper())
        if moment.tzinfo is not None:
            # 9999-12-31T23:30:00-01:00 is in year 10000 in UTC: OverflowError, not a timestamp
            moment = moment.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        return None
    return moment.isoformat(timespec="microseconds") + "Z"


def _to_object(value: Any, text: str, name: str) -> dict[str, Any] | None:
    """An object given as such or as JSON text; JSON text holding NaN or Infinity is refused
    as the file path's scrubber refuses it (:class:`NotChecked`, the same reason)."""
    if isinstance(value, dict):
        return value
    try:
        decoded = loads_standard(text)
    except NotStandardJson as problem:
        raise NotChecked(problem.within(name).reason) from None
    except (ValueError, RecursionError):
        return None
    return decoded if isinstance(decoded, dict) else None


_TYPE_PROBLEMS: Mapping[LogicalType, str] = {
    LogicalType.INTEGER: "is not an integer",
    LogicalType.NUMBER: "is not a number",
    LogicalType.BOOLEAN: "is not a boolean (true or false)",
    LogicalType.TIMESTAMP: "is not an RFC 3339 timestamp",
    LogicalType.OBJECT: "is not a JSON object",
}


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


@dataclass(frozen=True)
class _FieldCheck:
    prop: Property
    pattern: re.Pattern[str] | None

    @property
    def plain_string(self) -> bool:
        return self._plain

    def __post_init__(self) -> None:
        prop = self.prop
        plain = (
            prop.logical_type is LogicalType.STRING
            and prop.valid_values is None
            and prop.pattern is None
            and prop.minimum is None
        )
        object.__setattr__(self, "_plain", plain)

    def typed(self, value: Any, text: str) -> Any:
        match self.prop.logical_type:
            case LogicalType.STRING:
                return text
            case LogicalType.INTEGER:
                return _to_integer(text)
            case LogicalType.NUMBER:
                return _to_number(text)
            case LogicalType.BOOLEAN:
                return _to_boolean(text)
            case LogicalType.TIMESTAMP:
                return _to_timestamp(text)
            case LogicalType.OBJECT:
                return _to_object(value, text, self.prop.name)
        raise AssertionError(self.prop.logical_type)

    def check(self, value: Any) -> Any:
        """The typed value (``None`` when absent); raises :class:`NotChecked` with the reason."""
        prop = self.prop
        if value.__class__ is dict and prop.logical_type is LogicalType.OBJECT:
            return value  # an object is present and is an object: no text form needed
        text = _present(value)
        if text is None:
            default = DEFAULT_VALUES.get(prop.name)
            if default is None:
                if prop.required:
                    raise NotChecked(f"{prop.name}: missing (required)")
                return None
            value, text = default, default
        if self.plain_string:
            return text
        typed = self.typed(value, text)
        if typed is None:
            raise NotChecked(
                f"{prop.name}: {quoted_value(text)} {_TYPE_PROBLEMS[prop.logical_type]}"
            )
        if prop.valid_values is not None and _as_varchar(typed) not in prop.valid_values:
            raise NotChecked(
                f"{prop.name}: {quoted_value(text)} is not one of {', '.join(prop.valid_values)}"
            )
        if self.pattern is not None and not self.pattern.search(_as_varchar(typed)):
            raise NotChecked(
                f"{prop.name}: {quoted_value(text)} does not match the pattern {prop.pattern}"
            )
        if prop.minimum is not None and typed < prop.minimum:
            raise NotChecked(
                f"{prop.name}: {typed} is below the minimum {_number_text(prop.minimum)}"
            )
        return typed


_PLAIN = 1
_CHECKED = 2


def _fast_accept(field: _FieldCheck) -> tuple[int, Callable[[str], Any] | None]:
    """A shortcut for a well-formed text value: ``(0, None)`` none; ``(_PLAIN, None)`` the text
    is the value; ``(_CHECKED, accept)`` ``accept(text)`` is the typed value, or ``None`` to run
    the full check (which then finds the same verdict and reason)."""
    prop = field.prop
    if field.plain_string:
        return _PLAIN, None
    simple = prop.minimum is None and (prop.valid_values is None or prop.pattern is None)
    if prop.logical_type is LogicalType.STRING and simple and prop.valid_values is not None:
        allowed = frozenset(prop.valid_values)
        return _CHECKED, lambda text: text if text in allowed else None
    if prop.logical_type is LogicalType.STRING and simple and field.pattern is not None:
        search = field.pattern.search
        return _CHECKED, lambda text: text if search(text) else None
    if (
        prop.logical_type is LogicalType.TIMESTAMP
        and prop.valid_values is None
        and prop.pattern is None
        and prop.minimum is None
    ):
        return _CHECKED, _to_timestamp
    return 0, None


def _as_varchar(typed: Any) -> str:
    if isinstance(typed, bool):
        return "true" if typed else "false"
    return str(typed)


def depth_exceeds(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests lists/objects deeper than ``limit`` (checked without recursion)."""
    if value.__class__ is dict:  # the common case: a flat object
        for child in value.values():
            if child.__class__ is dict or child.__class__ is list:
                break
        else:
            return False
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth >= limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class EdgeChecker:
    """One contract's checks, compiled once; :meth:`check` takes one decoded record."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self.fields = tuple(
            _FieldCheck(prop, re.compile(prop.pattern) if prop.pattern else None)
            for prop in contract.properties
        )
        self._plan = tuple(
            (
                field.prop.name,
                *_fast_accept(field),
                not field.prop.required and field.prop.name not in DEFAULT_VALUES,
                field,
            )
            for field in self.fields
        )
        self.key_fields = contract.natural_key
        self._string_keys = string_key_fields(contract)
        getter = operator.itemgetter(*self.key_fields)
        self._key_of = getter if len(self.key_fields) > 1 else (lambda record: (getter(record),))
        self.scrubber = scrubber_for(contract)
        self._objects = tuple(
            p.name for p in contract.properties if p.logical_type is LogicalType.OBJECT
        )
        #: (field, the field it cannot be earlier than, its place among the fields)
        self._not_before = tuple(
            (p.name, p.not_before, place)
            for place, p in enumerate(contract.properties)
            if p.not_before is not None
        )
        self._places = {p.name: place for place, p in enumerate(contract.properties)}

    def check(self, record: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
        """``(normalised record, None)`` when it keeps the contract, else ``(None, reason)``."""
        if self._string_keys and (problem := key_type_problem(record, self._string_keys)):
            return None, problem  # as the file path refuses it, before any other check
        reasons: list[str] = []
        typed: dict[str, Any] = {}
        get = record.get
        for name, fast, accept, fast_null, field in self._plan:
            value = get(name)
            if value is None and fast_null:
                typed[name] = None
                continue
            if fast and value.__class__ is str and value and value[0] not in _BLANK_START:
                if fast is _PLAIN:
                    typed[name] = value
                    continue
                accepted = accept(value)
                if accepted is not None:
                    typed[name] = accepted
                    continue
            try:
                typed[name] = field.check(value)
            except NotChecked as problem:
                reasons.append(str(problem))
        for name, earlier, place in self._not_before:
            later_at, earlier_at = typed.get(name), typed.get(earlier)
            if later_at is not None and earlier_at is not None and later_at < earlier_at:
                problem = (
                    f"{name}: {quoted_value(str(get(name)))} is before {earlier} "
                    f"{quoted_value(str(get(earlier)))}"
                )
                # in field order, as the file path's reasons
                at = sum(self._places.get(r.split(":", 1)[0], 0) < place for r in reasons)
                reasons.insert(at, problem)
        if reasons:
            return None, "; ".join(reasons)
        for name, source in DEFAULT_FROM_FIELD.items():
            if name in typed and typed[name] is None:
                typed[name] = typed.get(source)
        for name in self._objects:
            if typed[name] is not None and depth_exceeds(typed[name]):
                return None, f"{name}: nests deeper than {MAX_DEPTH} levels"
        return typed, None

    def natural_key(self, record: Mapping[str, Any]) -> tuple[Any, ...]:
        return self._key_of(record)

    def spool_lines(
        self, records: list[dict[str, Any]], pii_key: Callable[[], bytes]
    ) -> list[bytes | RewrittenKey]:
        """The normalised records as scrubbed NDJSON lines (sorted keys).

        Each record is encoded once; the scrubber's prefilter (:class:`ingest.scrub.
        RecordScrubber`, the file path's rules) runs over all lines at once (polars, Rust regex),
        and only the records it flags (a secret, a card-like number, a classified field with a
        value) are scrubbed in Python and encoded again. Object fields (a CloudEvent's ``data``)
        are written as JSON *text*, which the NDJSON reader takes as it is. A record whose key
        field the scrubber rewrites is not written: a :class:`RewrittenKey` takes its place.
        """
        lines: list[bytes | RewrittenKey] = [self._line(record) for record in records]
        probes = pl.Series(lines, dtype=pl.Binary).cast(pl.String)
        flagged = probes.str.contains(self.scrubber.record_prefilter).arg_true().to_list()
        for index in flagged:
            scrubbed = self.scrubber.scrub_record(records[index], pii_key)
            lines[index] = self._line(scrubbed)
            for name in self.key_fields:
                if scrubbed.get(name) != records[index].get(name):
                    lines[index] = RewrittenKey(
                        rewritten_key_reason(
                            name, records[index].get(name), scrubbed.get(name), pii_key
                        )
                    )
                    break
        return lines

    def _line(self, record: dict[str, Any]) -> bytes:
        if self._objects:
            record = dict(record)
            for name in self._objects:
                if record[name] is not None:
                    record[name] = _dumps(record[name])
        return orjson.dumps(record, option=orjson.OPT_SORT_KEYS) + b"\n"

    def spool_line(
        self, record: dict[str, Any], pii_key: Callable[[], bytes]
    ) -> bytes | RewrittenKey:
        return self.spool_lines([record], pii_key)[0]


@dataclass(frozen=True)
class RewrittenKey:
    """A record :meth:`EdgeChecker.spool_lines` refuses: its key field held what the scrubber
    redacts (:func:`ingest.scrub.rewritten_key_reason`)."""

    reason: str


def _dumps(value: Any) -> str:
    return canonical_json(value)  # the file path's form of an object field


def line_hash(line: bytes) -> int:
    """The edge payload hash of a spooled line (the line is already canonical).

    The edge index lives in memory only and compares hashes of one natural key, so Python's
    64-bit SipHash of the bytes is enough (and ~10x cheaper than SHA-256)."""
    return hash(line)


def scrub_rejected(raw: Any, contract: Contract, pii_key: Callable[[], bytes]) -> Any:
    """A rejected record, scrubbed by its contract's rules (classified fields too), unknown keys
    like event data (secret-named keys, secrets, emails, cards)."""
    if depth_exceeds(raw):
        return {"_unstored": f"nested deeper than {MAX_DEPTH} levels"}
    if isinstance(raw, dict | Pairs):  # Pairs: a record giving a key twice, each value scrubbed
        return scrubber_for(contract).scrub_record(raw, pii_key)
    return scrub_data(raw, pii_key)


def scrub_reason(reason: str) -> str:
    return scrub_free_text(reason)
