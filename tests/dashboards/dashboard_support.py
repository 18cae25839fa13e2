"""Constants of the dashboard tests (a module name of its own: `conftest` is shared by every test
folder, so `from conftest import …` would pick whichever folder's conftest was imported first)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
APP = REPO_ROOT / "dashboards" / "streamlit_app.py"
