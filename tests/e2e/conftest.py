"""One demo built once per session through the real CLI: generate → ingest → dbt build → publish."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from flowledger.settings import PROJECT_ROOT, DataDir
from flowledger.warehouse import open_published

FLOWLEDGER = str(Path(sys.executable).parent / "flowledger")


def run_cli(
    data_dir: DataDir, *args: str, check: bool = True, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``flowledger`` command, as a user would."""
    result = subprocess.run(
        [FLOWLEDGER, "--data-dir", str(data_dir.root), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=PROJECT_ROOT,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"flowledger {' '.join(args)} exited {result.returncode}\n"
            f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
        )
    return result


def published_tables(data_dir: DataDir) -> dict[str, list[tuple]]:
    """Every published mart's rows, sorted, for before/after comparisons."""
    with open_published(data_dir) as con:
        names = [
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables where table_name not like '\\_%' escape '\\' order by 1"
            ).fetchall()
        ]
        return {
            name: con.execute(f'select * from "{name}" order by all').fetchall() for name in names
        }


def warehouse_rows(data_dir: DataDir, sql: str) -> list[tuple]:
    """Query the warehouse directly (only when no other process holds it)."""
    con = duckdb.connect(str(data_dir.warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@dataclass(frozen=True)
class Demo:
    data_dir: DataDir
    files: list[Path]
    ingest_output: str


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """A small demo (3 weeks) generated, ingested and built with the real CLI."""
    data_dir = DataDir(tmp_path_factory.mktemp("demo-home")).ensure()
    run_cli(data_dir, "generate", "--days", "21", "--target-events", "60000")
    files = sorted(p for p in data_dir.demo.iterdir() if p.suffix in {".ndjson", ".parquet"})
    ingested = run_cli(data_dir, "ingest", *map(str, files))
    run_cli(data_dir, "build", "--quiet")
    return Demo(data_dir=data_dir, files=files, ingest_output=ingested.stdout)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Dashboard:
    url: str
    process: subprocess.Popen[bytes]


@contextmanager
def serve_dashboard(data_dir: DataDir) -> Iterator[Dashboard]:
    """`flowledger dashboard` on a free loopback port, for the duration of the block."""
    port = free_port()
    env = {**os.environ, "FLOWLEDGER_HOME": str(data_dir.root)}
    process = subprocess.Popen(
        [FLOWLEDGER, "dashboard", "--port", str(port)],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError("the dashboard did not start within 60 s")
        time.sleep(0.5)
    try:
        yield Dashboard(url=url, process=process)
    finally:
        with contextlib.suppress(ProcessLookupError):  # a test may have stopped it already
            os.killpg(process.pid, 15)
        process.wait(timeout=20)


@pytest.fixture(scope="session")
def dashboard(demo: Demo) -> Iterator[Dashboard]:
    """The Streamlit server, started by `flowledger dashboard`, on a free loopback port."""
    with serve_dashboard(demo.data_dir) as served:
        yield served
