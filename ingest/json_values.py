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

import base64
import json
import math
import re
from collections.abc import Collection
from decimal import Decimal
from typing import Any

#: A float that ``json.dumps`` writes otherwise than polars: a whole number (``129.0``) or an
#: exponent (``1e-07``), where a value starts (a false hit in a string only costs time).
_FLOAT_NOT_PLAIN = re.compile(r"[:,\[] ?-?\d+(?:\.0(?=[,\]}])|(?:\.\d+)?e[+-]\d)")
#: A whole-number float as ``orjson``/``json`` write it in compact JSON: ``129.0``, ``1e+20``.
_WHOLE_FLOAT = re.compile(r"[:,\[]-?\d+(?:\.0|(?:\.\d+)?e\+\d+)[,\]}]")


def utf8_text(raw: bytes) -> str | None:
    """The text ``raw`` holds when it is UTF-8 without control characters other than tabs and
    line ends (a secret, an email sent as bytes); None for other bytes (a hash, a blob)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if all(c.isprintable() or c in "\t\n\r" for c in text) else None


def bytes_text(raw: bytes) -> str:
    """Bytes (a Parquet binary value) as text: the text they hold (:func:`utf8_text`), so that
    scrubbing reads it like any text (as base64, a secret or an email sent as bytes was stored
    out of every rule's sight), else base64."""
    text = utf8_text(raw)
    return text if text is not None else base64.b64encode(raw).decode()


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
    try:
        text = json.dumps(value, ensure_ascii=False)
    except TypeError:  # an object giving a key twice (:class:`Pairs`): written as it was
        return _nested_text(value)
    return _nested_text(value) if _FLOAT_NOT_PLAIN.search(text) else text


def _nested_text(value: Any) -> str:
    """``json.dumps`` of a nested value, its floats written as :func:`number_text` writes them
    and a key given twice (:class:`Pairs`) as often as it was, as polars writes it."""
    if isinstance(value, dict | Pairs):
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
    hinted = ".0" in compact_json or "e+" in compact_json
    return hinted and _WHOLE_FLOAT.search(compact_json) is not None


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
    """JSON text that Python reads but ingest refuses: NaN, Infinity, -Infinity, a number
    beyond a double (``1e400``), or a key given twice in one object. ``path`` is where
    (``data.items[2].price``; empty for the whole text), ``problem`` what."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(path, problem)
        self.path = path
        self.problem = problem

    @property
    def reason(self) -> str:
        return f"{self.path}: {self.problem}" if self.path else self.problem

    def within(self, name: str) -> NotStandardJson:
        """The same problem in JSON text held by the field ``name``."""
        joint = "" if not self.path or self.path.startswith("[") else "."
        return NotStandardJson(f"{name}{joint}{self.path}", self.problem)


DUPLICATE_KEY = "duplicate key (JSON object keys must be unique)"
_CONSTANTS = ("NaN", "Infinity", "-Infinity")


class Pairs:
    """A JSON object that gives a key more than once, kept as written: its members in order
    (a dict would keep one value of each key). ``items()`` gives them, as a dict's does."""

    __slots__ = ("members",)

    def __init__(self, members: list[tuple[str, Any]]) -> None:
        self.members = members

    def items(self) -> list[tuple[str, Any]]:
        return self.members

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pairs) and other.members == self.members

    def __repr__(self) -> str:
        return f"Pairs({self.members!r})"


def loads_standard(text: str | bytes, fields: Collection[str] | None = None) -> Any:
    """``json.loads`` that refuses (:class:`NotStandardJson`, its reason naming the first such
    place in the text) NaN, Infinity, numbers beyond a double and keys given twice.

    With ``fields`` (a contract's, the text being one record) a key given twice is refused
    only when it is one of them, at the top: below, an object giving a key twice stays as
    written (:class:`Pairs`; the scrubber refuses it in an object field, a text field keeps it
    as polars does), and a top-level key no contract lists is not stored either way."""
    decoding = _Decoding()
    try:
        value = json.loads(
            text,
            object_pairs_hook=decoding.object,
            parse_constant=_refuse,
            parse_float=_finite,
            parse_int=_whole,
        )
    except _Refused:
        value = json.loads(
            text,
            object_pairs_hook=_Decoding().object,
            parse_constant=_Written,
            parse_float=_written_float,
            parse_int=_written_int,
        )
    else:
        if not decoding.repeated:
            _refuse_lone_surrogates(text, value)
            return value
    counted = None if fields is None else frozenset(fields)
    found = _first_problem(value, "", counted)
    if found is not None:
        raise NotStandardJson(*found)
    _refuse_lone_surrogates(text, value)
    return dict(value.items()) if isinstance(value, Pairs) else value


#: ``\ud800``-``\udfff`` written as an escape: the only way JSON text (UTF-8) holds a surrogate.
_SURROGATE_ESCAPE = re.compile(r"\\[uU][dD][89a-fA-F]")
LONE_SURROGATE = (
    "a lone surrogate escape (\\ud800-\\udfff without its pair) is no Unicode character: "
    "JSON text must be Unicode (RFC 8259 section 8.2)"
)


def _refuse_lone_surrogates(text: str | bytes, value: Any) -> None:
    """:class:`NotStandardJson` where a string or key of ``value`` holds a surrogate that
    ``text`` wrote as an escape without its pair (``"\\ud800"``): no UTF-8 holds it, so no
    file, spool line or DuckDB string could. A pair (``"\\ud83d\\ude00"``) decodes to its
    character and passes."""
    probe = text.decode("utf-8", errors="replace") if isinstance(text, bytes) else text
    if not _SURROGATE_ESCAPE.search(probe):
        return
    path = _lone_surrogate_path(value, "")
    if path is not None:
        raise NotStandardJson(path, LONE_SURROGATE)


def _lone_surrogate_path(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return path if _holds_surrogate(value) else None
    if isinstance(value, dict | Pairs):
        for name, child in value.items():
            member = _member_path(path, name)
            if _holds_surrogate(name):
                return member.encode("utf-8", "backslashreplace").decode()
            found = _lone_surrogate_path(child, member)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found = _lone_surrogate_path(child, _member_path(path, index))
            if found is not None:
                return found
    return None


def _holds_surrogate(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return True
    return False


def loads_as_written(text: str | bytes) -> Any:
    """``json.loads`` keeping what the text says, for a quarantined record: a key given twice
    with each of its values (:class:`Pairs`), NaN and Infinity (floats), control characters
    in strings, an integer too long to read (:data:`MAX_INTEGER_DIGITS`) as its digits in a
    string."""
    return json.loads(
        text, object_pairs_hook=_Decoding().object, strict=False, parse_int=_written_int
    )


class ElementText:
    """JSON text ingest may refuse (NaN, a key given twice), as written: an array element, or
    a whole document that is no array (:func:`decoded_document`). Which keys count is up to the
    reader, who knows the record's contract (:func:`loads_standard` with its ``fields``)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ElementText) and other.text == self.text

    def __repr__(self) -> str:
        return f"ElementText({self.text!r})"


def decoded_document(text: str) -> Any:
    """The JSON document in ``text`` (a file's array, a request body), decoded whole; if it
    holds something :func:`loads_standard` refuses, each element of an array that does is kept
    as its :class:`ElementText`, and a document that is no array is one whole (then decoded one
    by one, each against its record's contract). Raises ``json.JSONDecodeError`` (or
    ``RecursionError``) for text that is not JSON."""
    try:
        return loads_standard(text)
    except NotStandardJson:
        pass
    # reads NaN and long integers (as text): only to find where each element ends
    decoder = json.JSONDecoder(parse_int=str)
    position = _after_blanks(text, 0)
    if not text.startswith("[", position):
        return ElementText(text)
    elements: list[Any] = []
    position = _after_blanks(text, position + 1)
    while not text.startswith("]", position):
        _, end = decoder.raw_decode(text, position)
        element = text[position:end]
        try:
            elements.append(loads_standard(element))
        except NotStandardJson:
            elements.append(ElementText(element))
        position = _after_blanks(text, end)
        if text.startswith(",", position):
            position = _after_blanks(text, position + 1)
        elif not text.startswith("]", position):
            raise json.JSONDecodeError("Expecting ',' delimiter", text, position)
    if _after_blanks(text, position + 1) != len(text):
        raise json.JSONDecodeError("Extra data", text, position + 1)
    return elements


def _after_blanks(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\n\r":
        position += 1
    return position


class _Decoding:
    """The object hook of one decode: dicts, or :class:`Pairs` where a key repeats."""

    def __init__(self) -> None:
        self.repeated = False

    def object(self, members: list[tuple[str, Any]]) -> dict[str, Any] | Pairs:
        record = dict(members)
        if len(record) == len(members):
            return record
        self.repeated = True
        return Pairs(members)


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


class _Written(str):
    """A number JSON does not allow, as written (NaN, Infinity, ``1e400``), where
    :func:`loads_standard` looks for what it refuses."""


#: the most digits Python turns into an integer (``sys.get_int_max_str_digits``); a longer one
#: raised a ValueError no reader caught (the receiver answered 500)
MAX_INTEGER_DIGITS = 4300


def _is_long_integer(written: str) -> bool:
    return len(written) - written.startswith("-") > MAX_INTEGER_DIGITS


def _whole(written: str) -> int:
    if _is_long_integer(written):
        raise _Refused(written)
    return int(written)


def _written_int(written: str) -> int | _Written:
    return _Written(written) if _is_long_integer(written) else int(written)


def _written_float(written: str) -> float | _Written:
    number = float(written)
    return _Written(written) if math.isinf(number) else number


def _first_problem(value: Any, path: str, counted: frozenset[str] | None) -> tuple[str, str] | None:
    """Where the first thing :func:`loads_standard` refuses is in ``value`` (document order),
    and what. ``counted``: the keys whose repeat counts here; ``None``: every key, at every
    level; a set: those keys here and none below (below a record's fields, the scrubber
    decides)."""
    if isinstance(value, _Written):
        if value in _CONSTANTS:
            return path, f"{value} is not valid JSON (JSON numbers are finite; write null)"
        if _is_long_integer(value):
            return path, (
                f"an integer of {len(value.lstrip('-')):,} digits is out of range "
                f"(at most {MAX_INTEGER_DIGITS:,}; write a long identifier as a string)"
            )
        return path, f"{value} is out of range (a JSON number here is a double, ±1.8e308)"
    if isinstance(value, dict | Pairs):
        seen: set[str] = set()
        for name, child in value.items():
            counts = counted is None or name in counted
            if counts and name in seen:
                return _member_path(path, name), DUPLICATE_KEY
            seen.add(name)
            below = None if counts and counted is None else frozenset()
            found = _first_problem(child, _member_path(path, name), below)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found = _first_problem(child, _member_path(path, index), counted)
            if found is not None:
                return found
    return None


def _member_path(path: str, member: str | int) -> str:
    if isinstance(member, int):
        return f"{path}[{member}]"
    return f"{path}.{member}" if path else member


def finite_json(value: Any) -> Any:
    """``value`` with NaN and the infinities as the strings ``"NaN"``, ``"Infinity"``,
    ``"-Infinity"`` at any depth: a quarantined record stays valid JSON (such a record is
    quarantined for them; written bare they made its raw record unreadable)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {key: finite_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [finite_json(item) for item in value]
    return value
