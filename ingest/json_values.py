"""JSON values as ingest stores them, the same whichever reader (or the receiver) decoded them.

polars, which reads NDJSON blocks, writes a JSON number it reads into a text column in plain
decimal: the shortest digits that read back as the same double, no exponent, no trailing zeros
(``1.0`` → ``1``, ``1e5`` → ``100000``, ``1e-7`` → ``0.0000001``). Every other path (the
line-by-line NDJSON reader, JSON arrays, Parquet floats, the receiver) writes numbers the same
way (:func:`value_as_text`), so a record stores and hashes alike whichever path reads it.

Inside an object field (a CloudEvent's ``data``), stored as canonical JSON, a whole number is
written as an integer however it was written (``129.0`` → ``129``,
:func:`whole_numbers_as_integers`): JSON has one number type, and a file in another format or
another encoder must not store a different text for the same event.

JSON has no NaN or Infinity (RFC 8259), which Python's decoder reads, nor numbers a double
cannot hold (``1e400``, which it reads as Infinity); polars refuses them. Every path decodes with
:func:`loads_standard`, which refuses them with a reason naming where they are, so the record is
quarantined whichever reader (or a CSV or Parquet column of JSON text) holds it.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any

#: A float that ``json.dumps`` writes otherwise than polars: a whole number (``129.0``) or an
#: exponent (``1e-07``), where a value starts (a false hit in a string only costs time).
_FLOAT_NOT_PLAIN = re.compile(r"[:,\[] ?-?\d+(?:\.0(?=[,\]}])|(?:\.\d+)?e[+-]\d)")
#: A whole-number float as ``orjson``/``json`` write it in compact JSON: ``129.0``, ``1e+20``.
_WHOLE_FLOAT = re.compile(r"[:,\[]-?\d+(?:\.0|(?:\.\d+)?e\+\d+)[,\]}]")


def plain_decimal(number: str) -> str:
    """A number written in plain decimal, no exponent, no trailing zeros (``1.50e2`` → ``150``)."""
    return format(Decimal(number).normalize(), "f")


def number_text(value: float) -> str:
    """A float as polars writes it: the shortest digits that read back as it, in plain decimal."""
    return plain_decimal(repr(value))


def value_as_text(value: Any) -> str | None:
    """A decoded JSON value in the text form polars gives it (nested values as JSON text)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return number_text(value)
    text = json.dumps(value, ensure_ascii=False)
    return _nested_text(value) if _FLOAT_NOT_PLAIN.search(text) else text


def _nested_text(value: Any) -> str:
    """``json.dumps`` of a nested value, its floats written as :func:`number_text` writes them."""
    if isinstance(value, dict):
        members = (
            f"{json.dumps(k, ensure_ascii=False)}: {_nested_text(v)}" for k, v in value.items()
        )
        return "{" + ", ".join(members) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_nested_text(item) for item in value) + "]"
    if isinstance(value, float):
        return number_text(value)
    return json.dumps(value, ensure_ascii=False)


def may_hold_whole_floats(compact_json: str) -> bool:
    """Whether compact JSON text may hold a float with a whole value (``129.0``, ``1e+20``)."""
    return _WHOLE_FLOAT.search(compact_json) is not None


def whole_numbers_as_integers(value: Any) -> Any:
    """``value`` with every float that holds a whole number as that integer, written as polars
    writes the float (``1e20`` → ``100000000000000000000``, ``-0.0`` → ``0``)."""
    if isinstance(value, float) and value.is_integer():
        return int(Decimal(repr(value)))
    if isinstance(value, dict):
        return {name: whole_numbers_as_integers(item) for name, item in value.items()}
    if isinstance(value, list):
        return [whole_numbers_as_integers(item) for item in value]
    return value


class NotStandardJson(ValueError):
    """JSON text that Python reads but JSON does not allow: NaN, Infinity, -Infinity, or a
    number beyond a double (``1e400``). ``path`` is where (``data.items[2].price``; empty for
    the whole text), ``written`` the value as written."""

    def __init__(self, path: str, written: str) -> None:
        super().__init__(path, written)
        self.path = path
        self.written = written

    @property
    def reason(self) -> str:
        where = f"{self.path}: " if self.path else ""
        if self.written in _CONSTANTS:
            return f"{where}{self.written} is not valid JSON (JSON numbers are finite; write null)"
        return f"{where}{self.written} is out of range (a JSON number here is a double, ±1.8e308)"

    def within(self, name: str) -> NotStandardJson:
        """The same problem in JSON text held by the field ``name``."""
        joint = "" if not self.path or self.path.startswith("[") else "."
        return NotStandardJson(f"{name}{joint}{self.path}", self.written)


_CONSTANTS = ("NaN", "Infinity", "-Infinity")


class _Refused(Exception):
    """Raised by the decoder hooks of :func:`loads_standard` (not a ValueError: not a syntax
    error of the text)."""


def _refuse(written: str) -> Any:
    raise _Refused(written)


def _finite(written: str) -> float:
    number = float(written)
    if math.isinf(number):
        raise _Refused(written)
    return number


def loads_standard(text: str | bytes) -> Any:
    """``json.loads``, refusing what JSON does not allow (:class:`NotStandardJson`, its reason
    naming the first such value in the text)."""
    try:
        return json.loads(text, parse_constant=_refuse, parse_float=_finite)
    except _Refused:
        found = _first_refused(
            json.loads(text, parse_constant=_Written, parse_float=_written_float)
        )
        assert found is not None
        raise NotStandardJson(*found) from None


class _Written(str):
    """A value JSON does not allow, as written (in the second decode, which finds where)."""


def _written_float(written: str) -> float | _Written:
    number = float(written)
    return _Written(written) if math.isinf(number) else number


def _first_refused(value: Any, path: str = "") -> tuple[str, str] | None:
    """The path and text of the first :class:`_Written` in ``value``, in document order."""
    if isinstance(value, _Written):
        return path, str(value)
    children = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for name, child in children:
        found = _first_refused(child, _member_path(path, name))
        if found is not None:
            return found
    return None


def _member_path(path: str, member: str | int) -> str:
    if isinstance(member, int):
        return f"{path}[{member}]"
    return f"{path}.{member}" if path else member
