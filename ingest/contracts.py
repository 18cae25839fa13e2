"""The ODCS data contracts in ``contracts/`` as typed objects, and the raw-table DDL they imply.

The YAML files are the single source of truth: which fields a record kind has, their logical
types, which are required, the natural key, closed value sets, patterns, minimums and which
fields must have secrets scrubbed, and which fields (top level, or inside an object such as a
CloudEvent's ``data``) are personal data and how each is redacted. Everything ingest checks and
scrubs is derived from here.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from flowledger.settings import CONTRACTS_DIR


class RecordKind(StrEnum):
    """One kind of record; each has one contract and one raw table."""

    FLOW_RUN = "flow_run"
    STEP_RUN = "step_run"
    QUEUE_DEPTH_SAMPLE = "queue_depth_sample"
    BUSINESS_EVENT = "business_event"


class LogicalType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"
    OBJECT = "object"


#: The fixed mapping from ODCS logical types to raw-table column types.
DUCKDB_TYPES: Mapping[LogicalType, str] = {
    LogicalType.STRING: "VARCHAR",
    LogicalType.INTEGER: "BIGINT",
    LogicalType.NUMBER: "DOUBLE",
    LogicalType.BOOLEAN: "BOOLEAN",
    LogicalType.TIMESTAMP: "TIMESTAMP",
    LogicalType.OBJECT: "VARCHAR",
}

#: Ingest metadata appended to every raw table after the contract's properties.
METADATA_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_batch_id", "VARCHAR"),
    ("_ingested_at", "TIMESTAMP"),
    ("_source_file", "VARCHAR"),
    ("_row_number", "BIGINT"),
    ("_payload_hash", "VARCHAR"),
)

SCRUB_SECRETS = "scrub_secrets"
#: ``customProperties: [{property: payloadHash, value: when_present}]``: the field enters a
#: record's payload hash only when the record has it, so adding an optional field to a contract
#: keeps the hash of every record written before (re-ingesting an old file finds duplicates, not
#: collisions).
PAYLOAD_HASH_PROPERTY = "payloadHash"
#: ``customProperties: [{property: notBefore, value: <field>}]`` of a timestamp field.
NOT_BEFORE_PROPERTY = "notBefore"
HASH_WHEN_PRESENT = "when_present"


#: ``classification`` values that make a field personal data (ODCS leaves the vocabulary open).
PERSONAL_DATA_CLASSES = ("pii", "restricted")


class PersonalRedaction(StrEnum):
    """``customProperties: [{property: redaction, value: …}]`` of a personal-data field."""

    PSEUDONYMISE = "pseudonymise"
    MASK_CARD = "mask_card"
    MASK = "mask"
    DROP = "drop"


class ContractError(ValueError):
    """A contract file is missing or does not say what ingest needs."""


@dataclass(frozen=True)
class DataField:
    """A field inside an object property (``properties``, or ``items.properties`` of an array):
    only the ones a contract classifies need listing."""

    name: str
    classification: str | None = None
    redaction: PersonalRedaction | None = None
    fields: tuple[DataField, ...] = ()


@dataclass(frozen=True)
class Property:
    """One field of a contract."""

    name: str
    logical_type: LogicalType
    required: bool = False
    primary_key_position: int | None = None
    valid_values: tuple[str, ...] | None = None
    pattern: str | None = None
    minimum: float | None = None
    scrub_secrets: bool = False
    hash_when_present: bool = False
    classification: str | None = None
    #: How personal data is redacted; ``None`` unless classified ``pii`` or ``restricted``.
    redaction: PersonalRedaction | None = None
    #: The classified fields inside an object property (a CloudEvent's ``data``).
    fields: tuple[DataField, ...] = ()
    #: ``customProperties: [{property: notBefore, value: started_at}]``: a timestamp that cannot
    #: be earlier than another field's (a run that ends before it starts has no duration)
    not_before: str | None = None

    @property
    def duckdb_type(self) -> str:
        return DUCKDB_TYPES[self.logical_type]


@dataclass(frozen=True)
class Contract:
    """One record kind's contract: its raw table and its properties in contract order."""

    kind: RecordKind
    table: str
    properties: tuple[Property, ...]

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(prop.name for prop in self.properties)

    @property
    def natural_key(self) -> tuple[str, ...]:
        keyed = [prop for prop in self.properties if prop.primary_key_position is not None]
        return tuple(prop.name for prop in sorted(keyed, key=lambda p: p.primary_key_position or 0))

    def property(self, name: str) -> Property:
        for prop in self.properties:
            if prop.name == name:
                return prop
        raise KeyError(f"contract {self.kind} has no property {name!r}")

    def columns(self) -> tuple[tuple[str, str], ...]:
        """Every raw-table column with its DuckDB type: contract properties, then metadata."""
        return tuple((p.name, p.duckdb_type) for p in self.properties) + METADATA_COLUMNS

    def ddl(self) -> str:
        columns = ",\n    ".join(f'"{name}" {sql_type}' for name, sql_type in self.columns())
        return f"CREATE TABLE IF NOT EXISTS {self.table} (\n    {columns}\n)"


def load_contract(path: Path) -> Contract:
    """Read one ODCS YAML file."""
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise ContractError(f"cannot read contract {path}: {error}") from error
    schemas = document.get("schema") or []
    if len(schemas) != 1:
        raise ContractError(f"{path}: expected exactly one schema object, found {len(schemas)}")
    schema = schemas[0]
    try:
        kind = RecordKind(schema["name"])
    except (KeyError, ValueError):
        raise ContractError(
            f"{path}: schema name {schema.get('name')!r} is not one of "
            f"{', '.join(k.value for k in RecordKind)}"
        ) from None
    table = schema.get("physicalName")
    if not table:
        raise ContractError(f"{path}: schema {kind} has no physicalName (the raw table)")
    properties = tuple(_parse_property(path, raw) for raw in schema.get("properties") or [])
    if not properties:
        raise ContractError(f"{path}: schema {kind} has no properties")
    return Contract(kind=kind, table=table, properties=properties)


def load_contracts(directory: Path = CONTRACTS_DIR) -> dict[RecordKind, Contract]:
    """Every record kind's contract, read from ``<directory>/<kind>.odcs.yaml``.

    Parsed once per version of the files (their modification times and sizes): the receiver's
    drainer asks every round, and parsing the YAML costs ~25 ms each time.
    """
    paths = [directory / f"{kind.value}.odcs.yaml" for kind in RecordKind]
    for kind, path in zip(RecordKind, paths, strict=True):
        if not path.exists():
            raise ContractError(f"contract for {kind} not found: expected {path}")
    versions = tuple((path.stat().st_mtime_ns, path.stat().st_size) for path in paths)
    return dict(_load_contracts(directory, versions))


@functools.lru_cache(maxsize=8)
def _load_contracts(
    directory: Path, versions: tuple[tuple[int, int], ...]
) -> tuple[tuple[RecordKind, Contract], ...]:
    return tuple(
        (kind, load_contract(directory / f"{kind.value}.odcs.yaml")) for kind in RecordKind
    )


def _parse_property(path: Path, raw: Mapping[str, Any]) -> Property:
    name = raw.get("name")
    if not name:
        raise ContractError(f"{path}: a property has no name: {dict(raw)}")
    try:
        logical_type = LogicalType(raw.get("logicalType"))
    except ValueError:
        raise ContractError(
            f"{path}: property {name!r} has logicalType {raw.get('logicalType')!r}; "
            f"expected one of {', '.join(t.value for t in LogicalType)}"
        ) from None
    options = raw.get("logicalTypeOptions") or {}
    minimum = options.get("minimum")
    classification, redaction = _personal_data(path, name, raw)
    return _checked_redaction(
        path,
        Property(
            name=name,
            logical_type=logical_type,
            required=bool(raw.get("required", False)),
            primary_key_position=(
                int(raw["primaryKeyPosition"]) if raw.get("primaryKey") else None
            ),
            valid_values=_valid_values(raw.get("quality") or []),
            pattern=options.get("pattern"),
            minimum=float(minimum) if minimum is not None else None,
            scrub_secrets=any(
                item.get("property") == "redaction" and item.get("value") == SCRUB_SECRETS
                for item in raw.get("customProperties") or []
            ),
            hash_when_present=any(
                item.get("property") == PAYLOAD_HASH_PROPERTY
                and item.get("value") == HASH_WHEN_PRESENT
                for item in raw.get("customProperties") or []
            ),
            classification=classification,
            redaction=redaction,
            fields=_nested_fields(path, name, raw),
            not_before=next(
                (
                    str(item.get("value"))
                    for item in raw.get("customProperties") or []
                    if item.get("property") == NOT_BEFORE_PROPERTY
                ),
                None,
            ),
        ),
    )


def _valid_values(quality: list[Mapping[str, Any]]) -> tuple[str, ...] | None:
    for rule in quality:
        arguments = rule.get("arguments") or {}
        if rule.get("metric") == "invalidValues" and "validValues" in arguments:
            return tuple(str(value) for value in arguments["validValues"])
    return None


def _personal_data(
    path: Path, name: str, raw: Mapping[str, Any]
) -> tuple[str | None, PersonalRedaction | None]:
    """A field's ``classification`` and, for personal data, its redaction mode.

    ``redaction`` ``scrub_secrets`` is the free-text rule, not a personal-data mode. A field
    classified ``pii``/``restricted`` without a mode is pseudonymised (the safe default that
    keeps joins); a mode on a field that is not classified as personal data is an error.
    """
    classification = raw.get("classification")
    if classification is not None and not isinstance(classification, str):
        raise ContractError(
            f"{path}: field {name!r} has classification {classification!r}; expected a string"
        )
    values = [
        item.get("value")
        for item in raw.get("customProperties") or []
        if item.get("property") == "redaction" and item.get("value") != SCRUB_SECRETS
    ]
    modes = ", ".join(m.value for m in PersonalRedaction)
    if len(values) > 1:
        raise ContractError(
            f"{path}: field {name!r} has {len(values)} redaction modes; give one of {modes}"
        )
    personal = classification is not None and classification.lower() in PERSONAL_DATA_CLASSES
    if not values:
        return classification, PersonalRedaction.PSEUDONYMISE if personal else None
    try:
        mode = PersonalRedaction(values[0])
    except ValueError:
        raise ContractError(
            f"{path}: field {name!r} has redaction {values[0]!r}; expected one of {modes} "
            f"(or {SCRUB_SECRETS} for free text)"
        ) from None
    if not personal:
        raise ContractError(
            f"{path}: field {name!r} has redaction {mode.value} but classification "
            f"{classification!r}; personal-data redaction needs classification "
            f"{' or '.join(PERSONAL_DATA_CLASSES)}"
        )
    return classification, mode


def _checked_redaction(path: Path, prop: Property) -> Property:
    """Refuse a redaction the contract's own checks or keys could not survive: the receiver's
    drainer checks scrubbed records again, and a dropped or masked key would merge records."""
    mode = prop.redaction
    if mode is None:
        return prop
    where = f"{path}: field {prop.name!r} (redaction {mode.value})"
    if mode is PersonalRedaction.DROP:
        if prop.required or prop.primary_key_position is not None:
            raise ContractError(
                f"{where}: a required or key field cannot be dropped; use pseudonymise"
            )
        return prop
    if prop.logical_type is not LogicalType.STRING:
        raise ContractError(
            f"{where}: only string fields can be redacted with {mode.value}; use drop"
        )
    if prop.primary_key_position is not None and mode is not PersonalRedaction.PSEUDONYMISE:
        raise ContractError(f"{where}: a key field can only be pseudonymised (stays unique)")
    if prop.valid_values is not None or prop.pattern is not None:
        raise ContractError(
            f"{where}: the redacted value would fail the field's value set or pattern; remove one"
        )
    return prop


def _nested_fields(path: Path, parent: str, raw: Mapping[str, Any]) -> tuple[DataField, ...]:
    """``properties`` of an object, or ``items.properties`` of an array, recursively."""
    items = raw.get("items")
    nested = raw.get("properties")
    if nested is None and isinstance(items, Mapping):
        nested = items.get("properties")
    if nested is None:
        return ()
    if not isinstance(nested, list):
        raise ContractError(f"{path}: properties of {parent!r} must be a list of fields")
    fields = []
    for entry in nested:
        name = entry.get("name") if isinstance(entry, Mapping) else None
        if not name:
            raise ContractError(f"{path}: a field inside {parent!r} has no name: {entry!r}")
        full = f"{parent}.{name}"
        classification, redaction = _personal_data(path, full, entry)
        fields.append(
            DataField(
                name=name,
                classification=classification,
                redaction=redaction,
                fields=_nested_fields(path, full, entry),
            )
        )
    return tuple(fields)
