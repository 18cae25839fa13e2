"""Reading flowledger's YAML files (processes, SLOs, retention, field ownership) one way: safe,
refusing a key given twice in one mapping, with errors that read well."""

from __future__ import annotations

from typing import Any

import yaml


class UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses a key given twice in one mapping (plain YAML keeps the
    last, so a process or a table written twice would silently keep only one of the two)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            # merge keys (<<) may repeat and be overridden; other keys are plain scalars here
            # (SafeConstructor refuses an unhashable key itself)
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            key = self.construct_object(key_node)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str) -> Any:
    """One YAML document (raises :class:`yaml.YAMLError`)."""
    return yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass


def load_all_yaml(text: str) -> list[Any]:
    """Every document of a multi-document YAML text (raises :class:`yaml.YAMLError`)."""
    return list(yaml.load_all(text, Loader=UniqueKeyLoader))  # noqa: S506 - a SafeLoader subclass


def yaml_problem(error: yaml.YAMLError) -> str:
    """The parser's message without the name of the in-memory string it read
    (``in "<unicode string>", line 3, column 1`` reads ``line 3, column 1``)."""
    return str(error).replace('in "<unicode string>", ', "")
