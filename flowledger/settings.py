"""Where a flowledger instance keeps its state: one data directory, every path named here."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = ".flowledger"
HOME_ENV = "FLOWLEDGER_HOME"

#: The repository root: dbt_project.yml, contracts/ and seeds/ live here.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONTRACTS_DIR = PROJECT_ROOT / "contracts"


@dataclass(frozen=True)
class DataDir:
    """All state of one flowledger instance lives below ``root``."""

    root: Path

    @classmethod
    def resolve(cls, data_dir: str | os.PathLike[str] | None = None) -> DataDir:
        """``--data-dir`` wins, then ``FLOWLEDGER_HOME``, then ``./.flowledger``."""
        chosen = data_dir or os.environ.get(HOME_ENV) or DEFAULT_HOME
        return cls(Path(chosen).expanduser().resolve())

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def marts(self) -> Path:
        """The marts dbt builds (schema ``main``), attached to the warehouse as catalog ``marts``;
        a byte copy of this file is a published snapshot."""
        return self.root / "marts.duckdb"

    @property
    def warehouse_lock(self) -> Path:
        return self.root / "warehouse.lock"

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def published(self) -> Path:
        return self.root / "published"

    @property
    def demo(self) -> Path:
        return self.root / "demo"

    @property
    def dbt_target(self) -> Path:
        return self.root / "dbt" / "target"

    @property
    def dbt_logs(self) -> Path:
        return self.root / "dbt" / "logs"

    def ensure(self) -> DataDir:
        """Create the directories; :class:`DataDirError` says why one cannot be."""
        for path in (self.root, self.landing, self.published, self.demo):
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                if isinstance(error, FileExistsError):  # exist_ok: something not a directory
                    raise DataDirError(f"data directory {path} is not a directory") from None
                reason = error.strerror or str(error)
                raise DataDirError(f"data directory {path} cannot be created ({reason})") from None
        return self


class DataDirError(Exception):
    """The data directory cannot be used (a file is in the way, no permission, a bad path)."""


def port_number(text: str) -> int:
    """A TCP port given on the command line (an argparse type): 0 to 65535, 0 for any free one."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535, got {value}")
    return value
