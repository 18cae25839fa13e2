"""Field ownership (system of record) declared in the business-event data contract, and in the
data directory's own ``field_ownership.yml``.

``contracts/business_event.odcs.yaml`` carries a contract-level ODCS ``customProperties`` entry
``fieldOwnership``: the business entities the events write (order, invoice, …), the data field
holding each entity's key, the event types that write it, and for each tracked field the
CloudEvents ``source`` that is its system of record (plus any other source allowed to write it).
A write of a field by any other source is an ownership violation.

``<data dir>/field_ownership.yml`` declares a company's own entities in the same form
(``entities: [...]``, the value of ``fieldOwnership``): each entity there is added, or replaces
the contract's entity of the same name, without editing the installed contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from flowledger.settings import CONTRACTS_DIR
from flowledger.yaml_text import load_yaml, yaml_problem

CONTRACT_FILE = "business_event.odcs.yaml"
PROPERTY = "fieldOwnership"


class OwnershipError(ValueError):
    """The ownership declaration is missing or malformed; the message says where."""


@dataclass(frozen=True)
class FieldOwner:
    entity: str
    key_field: str
    field_name: str
    system_of_record: str
    also_written_by: tuple[str, ...]
    event_types: tuple[str, ...]  # empty: every event that holds the key

    def allows(self, source: str) -> bool:
        return source == self.system_of_record or source in self.also_written_by


#: a data directory's own declaration, beside the contract's
INSTANCE_FILE = "field_ownership.yml"


def load_ownership(path: Path | None = None, data_dir: Path | None = None) -> list[FieldOwner]:
    """The contract's declaration (``path``), with the entities of ``<data_dir>/``
    :data:`INSTANCE_FILE` added or put in place of the contract's of the same name."""
    path = path or CONTRACTS_DIR / CONTRACT_FILE
    document = _read_yaml(path)
    entries = [
        item
        for item in document.get("customProperties") or []
        if isinstance(item, dict) and item.get("property") == PROPERTY
    ]
    if not entries:
        raise OwnershipError(
            f"{path} declares no field ownership: add a customProperties entry "
            f"`property: {PROPERTY}` (see docs/lineage.md)"
        )
    value = entries[0].get("value") or {}
    entities = value.get("entities") if isinstance(value, dict) else None
    if not isinstance(entities, list) or not entities:
        raise OwnershipError(f"{path}: {PROPERTY}.value.entities must be a non-empty list")
    owners = _owners(entities, f"{path}: {PROPERTY}")
    instance = data_dir / INSTANCE_FILE if data_dir is not None else None
    if instance is None or not instance.exists():
        return owners
    own = _read_yaml(instance)
    own_entities = own.get("entities")
    if set(own) - {"entities"} or not isinstance(own_entities, list) or not own_entities:
        raise OwnershipError(
            f"{instance}: expected one key, `entities`, a non-empty list of entities as in the "
            f"contract's {PROPERTY} (see docs/lineage.md)"
        )
    mine = _owners(own_entities, str(instance))
    replaced = {owner.entity for owner in mine}
    return [owner for owner in owners if owner.entity not in replaced] + mine


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        document = load_yaml(path.read_text()) or {}
    except OSError as error:
        raise OwnershipError(f"cannot read {path}: {error}") from None
    except yaml.YAMLError as error:
        raise OwnershipError(f"{path}: not valid YAML ({yaml_problem(error)})") from None
    if not isinstance(document, dict):
        raise OwnershipError(f"{path}: expected a mapping at the top")
    return document


def declared_entities(data_dir: Path) -> list[str]:
    """The entities the contract and ``<data_dir>/``:data:`INSTANCE_FILE` declare, in order;
    none when the declaration cannot be read (the build says why)."""
    try:
        owners = load_ownership(None, data_dir)
    except OwnershipError:
        return []
    return list(dict.fromkeys(owner.entity for owner in owners))


def _owners(entities: list[Any], where_declared: str) -> list[FieldOwner]:
    owners: list[FieldOwner] = []
    seen: set[tuple[str, str]] = set()
    for i, entity in enumerate(entities):
        where = f"{where_declared} entity #{i + 1}"
        if not isinstance(entity, dict):
            raise OwnershipError(f"{where} must be a mapping")
        name, key = entity.get("entity"), entity.get("key")
        if not name or not key:
            raise OwnershipError(f"{where} needs `entity` (e.g. order) and `key` (e.g. order_id)")
        event_types = tuple(_strings(entity.get("eventTypes"), f"{where} eventTypes"))
        fields = entity.get("fields")
        if not isinstance(fields, list) or not fields:
            raise OwnershipError(f"{where} ({name}) needs a non-empty `fields` list")
        for spec in fields:
            if not isinstance(spec, dict) or not spec.get("name") or not spec.get("systemOfRecord"):
                raise OwnershipError(
                    f"{where} ({name}): every field needs `name` and `systemOfRecord` "
                    f"(a CloudEvents source such as /acme/shop), got {spec!r}"
                )
            writers = [spec["systemOfRecord"], *(spec.get("alsoWrittenBy") or [])]
            if not all(isinstance(writer, str) and "," not in writer for writer in writers):
                raise OwnershipError(
                    f"{where} ({name}) {spec['name']}: systemOfRecord and alsoWrittenBy are "
                    f"CloudEvents sources, each a string without a comma (one per list item), "
                    f"got {writers!r}"
                )
            if (name, spec["name"]) in seen:
                raise OwnershipError(f"{where}: field {name}.{spec['name']} is declared twice")
            seen.add((name, spec["name"]))
            owners.append(
                FieldOwner(
                    entity=str(name),
                    key_field=str(key),
                    field_name=str(spec["name"]),
                    system_of_record=str(spec["systemOfRecord"]),
                    also_written_by=tuple(
                        _strings(spec.get("alsoWrittenBy"), f"{where} {spec['name']}.alsoWrittenBy")
                    ),
                    event_types=event_types,
                )
            )
    return owners


def _strings(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise OwnershipError(f"{where} must be a list of strings")
    return list(value)


#: the dbt var that carries the declaration to ``int_field_ownership_declared``
DBT_VAR = "flowledger_field_ownership"


def ownership_rows(
    path: Path | None = None, data_dir: Path | None = None
) -> list[dict[str, str | None]]:
    """The declaration as the rows of ``int_field_ownership_declared``.

    ``allowed_writers`` and ``event_types`` are comma-delimited with a comma on both ends
    (``,/acme/shop,/acme/psp,``), their items tested by ``csv_list_contains`` (no item holds a
    comma: a source with one is refused above, a CloudEvents type cannot); ``event_types``
    is NULL when every event holding the key writes the entity.
    """
    return [
        {
            "entity": o.entity,
            "key_field": o.key_field,
            "field_name": o.field_name,
            "system_of_record": o.system_of_record,
            "allowed_writers": "," + ",".join((o.system_of_record, *o.also_written_by)) + ",",
            "event_types": ("," + ",".join(o.event_types) + ",") if o.event_types else None,
        }
        for o in load_ownership(path, data_dir)
    ]


def dbt_vars(
    path: Path | None = None, data_dir: Path | None = None
) -> dict[str, list[dict[str, str | None]]]:
    """The declaration as the dbt ``--vars`` of ``int_field_ownership_declared`` (a SQL model fed
    by vars, like the process configuration, so it runs on DuckDB and Spark alike)."""
    return {DBT_VAR: ownership_rows(path, data_dir)}
