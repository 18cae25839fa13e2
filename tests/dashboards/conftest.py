"""Fixtures for the dashboard tests: a published snapshot in a temporary data directory."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from dashboard_support import REPO_ROOT

# Make `import dashboards` find the real package first, whatever else pytest put on sys.path.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from dashboard_snapshot import build_published_snapshot  # noqa: E402


@pytest.fixture(autouse=True)
def fresh_streamlit_cache() -> Iterator[None]:
    """st.cache_data and the open snapshots (st.cache_resource) live for the whole process; every
    test starts and ends with both empty."""
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def empty_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory where nothing has been published, selected via FLOWLEDGER_HOME."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("FLOWLEDGER_HOME", str(home))
    return home


@pytest.fixture
def published_home(empty_home: Path) -> Path:
    """``empty_home`` with the hand-made marts published (see dashboard_snapshot.py)."""
    build_published_snapshot(empty_home)
    return empty_home
