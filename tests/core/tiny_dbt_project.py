"""A dbt project of a few models on its own DuckDB file, for the tests of how dbt is run."""

from __future__ import annotations

from pathlib import Path


def tiny_project(root: Path, models: dict[str, str]) -> None:
    """``root``: a dbt project (profile ``tiny``, one thread) with ``models`` (file → SQL),
    building into ``root/tiny.duckdb``."""
    (root / "models").mkdir(parents=True)
    for name, sql in models.items():
        (root / "models" / name).write_text(sql)
    (root / "dbt_project.yml").write_text(
        "name: tiny\nversion: '1.0'\nconfig-version: 2\nprofile: tiny\n"
    )
    (root / "profiles.yml").write_text(
        f"tiny:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {root / 'tiny.duckdb'}\n      threads: 1\n"
    )
