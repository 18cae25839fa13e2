from __future__ import annotations

from pathlib import Path

import pytest

from flowledger.settings import DataDir


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DataDir:
    monkeypatch.delenv("FLOWLEDGER_PII_KEY", raising=False)
    return DataDir(tmp_path / "home").ensure()
