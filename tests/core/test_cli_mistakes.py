"""Mistakes a new user makes with the command line: one clear line each, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowledger.cli import main

#: Every command that reads a data directory, with the least it needs to run.
READERS = [
    ["sql", "select 1"],
    ["kpi", "process", "order-to-cash"],
    ["budget", "report"],
    ["lineage", "trace", "fct_cases.case_id"],
    ["processes", "check"],
    ["dashboard"],
]


@pytest.mark.parametrize("command", READERS, ids=lambda command: command[0])
def test_a_data_dir_that_is_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    taken = tmp_path / "a-file"
    taken.write_text("hi\n")
    assert main(["--data-dir", str(taken), *command]) == 1
    out = capsys.readouterr()
    assert out.err == f"flowledger: data directory {taken} is not a directory\n"


@pytest.mark.parametrize("given", ["", "  "])
def test_an_empty_data_dir_is_refused(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    given: str,
) -> None:
    # `--data-dir "$DIR"` with DIR unset read and wrote ./.flowledger without a word
    monkeypatch.chdir(tmp_path)
    assert main(["--data-dir", given, "sql", "select 1"]) == 2
    assert "--data-dir is empty" in capsys.readouterr().err
    assert not (tmp_path / ".flowledger").exists()


@pytest.mark.parametrize(
    ("command", "option"),
    [(["dashboard"], "--port"), (["serve"], "--port"), (["up"], "--dashboard-port")],
)
@pytest.mark.parametrize("port", ["80000", "-1", "http"])
def test_a_port_out_of_range_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str], option: str, port: str
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--data-dir", str(tmp_path), *command, f"{option}={port}"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}:" in err and "Traceback" not in err


def test_the_demo_on_a_taken_port_stops_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`make demo` with port 8501 taken generated, ingested and built for a minute, then
    failed in Streamlit with `Port 8501 is not available`."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        home = tmp_path / "home"
        assert main(["--data-dir", str(home), "demo", "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert f"port {port} on 127.0.0.1 is taken" in err and "make demo PORT=N" in err
    assert not any((home / "demo").glob("*"))  # nothing generated
