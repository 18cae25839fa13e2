"""Event logs as tools export them, imported with no option a user would have to guess.

Real CSV exports (Disco, Celonis, ProM, spreadsheets; e.g. PM4Py's test log
``mobis_challenge_log_2019_snippet.csv``) use ``;`` or tab separators, a UTF-8 byte-order mark,
CRLF, blank lines, ``.csv.gz``, repeated column names and day-first or month-first timestamps
without offset. The reader tests below state the expected values; the cross-check imports
generated exports through the CLI, builds, and compares every KPI with PM4Py reading the same
file with pandas (told the separator and the timestamp format, as its user must be).
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from flowledger.settings import PROJECT_ROOT
from ingest.eventlog.csv_log import ColumnMapping, CsvLogError, read_csv_log
from ingest.eventlog.records import utc_text

sys.path.insert(0, str(Path(__file__).parent))
from logs import generate, write_export_csv, write_prom_xes  # noqa: E402


def _events(path: Path, **mapping: str) -> list:
    return list(read_csv_log(path, ColumnMapping(**mapping)))


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_separator_is_detected(tmp_path: Path, delimiter: str):
    path = tmp_path / "log.csv"
    rows = ["case", "activity", "timestamp", "cost"], ["c1", "A", "2024-01-01 10:00:00", "1,5"]
    path.write_text("\n".join(delimiter.join(row) for row in rows) + "\n")
    (event,) = _events(path)
    assert (event.case_id, event.activity, event.attributes) == ("c1", "A", {"cost": "1,5"})


def test_bom_crlf_blank_lines_gzip_and_repeated_columns(tmp_path: Path):
    path = tmp_path / "log.csv.gz"
    text = (
        "\ufeffCase ID;Activity;Complete Timestamp;x;x\r\n\r\nc1;A;2024-01-01T10:00:00Z;1;2\r\n\r\n"
    )
    path.write_bytes(gzip.compress(text.encode()))
    (event,) = _events(path)
    assert (event.case_id, event.activity) == ("c1", "A")
    assert utc_text(event.timestamp) == "2024-01-01T10:00:00.000000Z"
    assert event.attributes == {"x": "1", "x.1": "2"}  # pandas' names for a repeated column


def test_column_names_are_guessed_whatever_their_spelling(tmp_path: Path):
    path = tmp_path / "log.csv"
    path.write_text(
        "Case_ID,Activity-Name,Start Time,END TIME\nc1,A,2024-01-01 09:00,2024-01-01 10:00\n"
    )
    (event,) = _events(path)
    assert (event.case_id, event.activity) == ("c1", "A")
    assert utc_text(event.timestamp) == "2024-01-01T10:00:00.000000Z"
    assert event.attributes == {"Start Time": "2024-01-01 09:00"}


def test_quoted_values_spanning_lines(tmp_path: Path):
    path = tmp_path / "log.csv"
    path.write_text(
        'case;activity;timestamp;comment\nc1;A;2024-01-01 10:00;"first line\nsecond; line"\n'
        "c1;B;2024-01-01 11:00;\n"
    )
    first, second = _events(path)
    assert first.attributes == {"comment": "first line\nsecond; line"}
    assert (second.activity, second.attributes) == ("B", {})
    # across the reader's blocks too (pyarrow's chunker splits at newlines unless told)
    path.write_text(
        "case;activity;timestamp;comment\n"
        + "".join(f'c{i};A;2024-01-01 10:00;"line one\nline two; {i}"\n' for i in range(50))
    )
    events = list(read_csv_log(path, ColumnMapping(), block_bytes=256))
    assert [e.attributes["comment"][-2:] for e in events] == [f"{i:>2}" for i in range(50)]


def test_windows_encoded_export_is_read(tmp_path: Path):
    path = tmp_path / "log.csv"
    text = (
        "Case ID;Activity;Timestamp\nc1;Prüfung;16.01.2017 13:29\nc1;Rückfrage €;17.01.2017 08:00\n"
    )
    path.write_bytes(text.encode("cp1252"))
    assert [e.activity for e in _events(path)] == ["Prüfung", "Rückfrage €"]


def test_start_and_end_columns_take_the_end_as_the_time(tmp_path: Path):
    # the columns of mobis_challenge_log_2019_snippet.csv (PM4Py's tests), day-first, ";"
    path = tmp_path / "log.csv"
    path.write_text(
        "activity;case;start;end;org:role;org:resource;cost\n"
        "pay expenses;1;16.01.2017 13:29;16.01.2017 13:40;Accounting;FI12;167,52\n"
        "calculate payments;6;04.01.2017 06:59;16.01.2017 09:40;Accounting;WE5108;413,14\n"
    )
    first, second = _events(path)
    assert (first.case_id, first.activity, first.resource) == ("1", "pay expenses", "FI12")
    assert utc_text(first.timestamp) == "2017-01-16T13:40:00.000000Z"
    assert second.attributes == {
        "start": "04.01.2017 06:59",
        "org:role": "Accounting",
        "cost": "413,14",
    }


@pytest.mark.parametrize(
    ("stamps", "expected"),
    [
        (["04.01.2017 06:59", "16.01.2017 13:29"], ["2017-01-04T06:59", "2017-01-16T13:29"]),
        (["1/4/2017 6:59 AM", "1/16/2017 1:29 PM"], ["2017-01-04T06:59", "2017-01-16T13:29"]),
        (
            ["2017/01/04 06:59:00.5", "2017/01/16 13:29:00"],
            ["2017-01-04T06:59", "2017-01-16T13:29"],
        ),
        (
            ["04-01-2017 06:59:00", "16-01-2017 13:29:00+01:00"],
            ["2017-01-04T06:59", "2017-01-16T12:29"],
        ),
        (  # BigQuery: UTC named, the fraction left out when it is zero (was refused whole)
            ["2017-01-04 06:59:00 UTC", "2017-01-16 13:29:00.5 UTC", "2017-01-17 08:00:00 GMT"],
            ["2017-01-04T06:59", "2017-01-16T13:29", "2017-01-17T08:00"],
        ),
    ],
)
def test_timestamp_formats_of_exports_are_recognised(tmp_path: Path, stamps, expected):
    path = tmp_path / "log.csv"
    path.write_text("case,activity,timestamp\n" + "".join(f"c,A,{s}\n" for s in stamps))
    assert [utc_text(e.timestamp)[:16] for e in _events(path)] == expected


def test_ambiguous_or_unknown_timestamps_name_the_option(tmp_path: Path):
    path = tmp_path / "log.csv"
    path.write_text("case,activity,timestamp\nc,A,04.01.2017 06:59\nc,B,05.01.2017 07:00\n")
    with pytest.raises(CsvLogError, match=r"day first or month first.*--timestamp-format '%d\.%m"):
        _events(path)
    (first, _) = _events(path, timestamp_format="%m.%d.%Y %H:%M")
    assert utc_text(first.timestamp) == "2017-04-01T06:59:00.000000Z"
    path.write_text("case,activity,timestamp\nc,A,Jan 4th 2017\n")
    with pytest.raises(CsvLogError, match="no known format.*--timestamp-format"):
        _events(path)


def test_a_value_in_another_format_is_left_for_quarantine(tmp_path: Path):
    path = tmp_path / "log.csv"
    path.write_text("case,activity,timestamp\nc,A,16.01.2017 13:29\nc,B,later\nc,C,\n")
    first, second, third = _events(path)
    assert utc_text(first.timestamp) == "2017-01-16T13:29:00.000000Z"
    assert (second.timestamp, third.timestamp) == ("later", None)


PROM_XES = """<?xml version="1.0" encoding="UTF-8" ?>
<log xes.version="1.0">
  <global scope="event">
    <string key="concept:name" value="__INVALID__"/>
    <date key="time:timestamp" value="1970-01-01T00:00:00.000+01:00"/>
    <string key="org:resource" value="UNDEFINED"/>
  </global>
  <trace><string key="concept:name" value="c1"/>
    <event><string key="concept:name" value="A"/><date key="time:timestamp" value="2020-01-01T10:00:00Z"/></event>
    <event><string key="concept:name" value="B"/></event>
    <event><date key="time:timestamp" value="2020-01-01T12:00:00+0100"/></event>
    <event><string key="concept:name" value="A"/><date key="time:timestamp" value="2020-01-01T09:00:00"/></event>
  </trace>
</log>
"""


def test_xes_placeholder_defaults_do_not_make_events(tmp_path: Path):
    from ingest.eventlog.records import EventBatcher
    from ingest.eventlog.xes import read_xes

    path = tmp_path / "log.xes"
    path.write_text(PROM_XES)
    events = list(read_xes(path))
    assert [(e.activity, utc_text(e.timestamp), e.resource) for e in events] == [
        ("A", "2020-01-01T10:00:00.000000Z", "UNDEFINED"),
        ("B", None, "UNDEFINED"),  # not the 1970 placeholder: quarantined
        (None, "2020-01-01T11:00:00.000000Z", "UNDEFINED"),  # not "__INVALID__": quarantined
        ("A", "2020-01-01T09:00:00.000000Z", "UNDEFINED"),
    ]
    batcher = EventBatcher("p", ["id", "time", "data"], 10)
    (batch,) = batcher.batches(iter(events))
    assert [row.reason for row in batch.rejected] == [
        "data.activity: missing (the event has no activity)"
    ]
    assert batch.frame.height == 3
    notes = batcher.notes
    assert (notes.without_activity, notes.without_timestamp, notes.cases_out_of_order) == (1, 1, 1)


def test_compressed_xes_logs_are_read_and_a_broken_one_is_refused_with_the_reason(
    tmp_path: Path,
):
    import bz2

    from ingest.eventlog.xes import XesError, read_xes

    xes = tmp_path / "log.xes.bz2"
    xes.write_bytes(bz2.compress(PROM_XES.encode()))
    assert [e.activity for e in read_xes(xes)] == ["A", "B", None, "A"]
    broken = tmp_path / "broken.xes.gz"
    broken.write_bytes(gzip.compress(PROM_XES.encode())[:60])
    with pytest.raises(XesError, match=r"broken\.xes\.gz: cannot be read \(Compressed file ended"):
        list(read_xes(broken))
    not_gzip = tmp_path / "plain.xes.gz"
    not_gzip.write_text(PROM_XES)
    with pytest.raises(XesError, match=r"plain\.xes\.gz: cannot be read \(Not a gzipped file"):
        list(read_xes(not_gzip))


def test_a_process_without_cases_points_at_the_quarantine():
    import duckdb

    from flowledger.processes.kpis import UnknownProcess, process_kpis

    con = duckdb.connect()
    con.execute(
        "create table fct_cases (process_name varchar, event_count int, is_complete boolean, "
        "cycle_measure varchar, has_rework boolean, has_field_correction boolean, "
        "has_gray_failure boolean, is_first_pass boolean, sla_met boolean)"
    )
    with pytest.raises(
        UnknownProcess, match="without a case id, activity or timestamp .* raw.quarantine"
    ):
        process_kpis(con, "pdc_2020")


# --- imported through the CLI and built, against PM4Py --------------------------------------

pm4py = pytest.importorskip("pm4py")
CASES = 300
EXPORTS = {
    # process: (file name, separator, timestamp format)
    "export_semicolon_gz": ("export.csv.gz", ";", "%d.%m.%Y %H:%M:%S"),
    "export_tab_us": ("export.tsv", "\t", "%m/%d/%Y %I:%M:%S %p"),
    "prom_xes": ("prom.xes", "", ""),
}


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("exports")
    home = root / "home"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "flowledger.cli", "--data-dir", str(home), *args],
            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600,
        )  # fmt: skip

    for process, (name, delimiter, date_format) in EXPORTS.items():
        path, traces = root / name, generate(CASES, seed=5)
        if name.endswith(".xes"):
            write_prom_xes(traces, path)
        else:
            write_export_csv(traces, path, delimiter=delimiter, date_format=date_format)
        log_format = "xes" if name.endswith(".xes") else "csv"
        result = cli("ingest", "--format", log_format, str(path), "--process", process)
        assert result.returncode == 0, result.stdout + result.stderr
        told = result.stdout + result.stderr
        if log_format == "csv":
            assert " 0 quarantined" in told
        else:  # what the user is told about the events left out, and about the order
            assert "events without an activity (concept:name) were quarantined" in told
            assert "events without a timestamp (time:timestamp) were quarantined" in told
            assert "cases list events out of time order" in told
    result = cli("build", "--quiet", "--select", "+path:models/marts/processes", "+fct_flow_runs")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return {"root": root, "cli": cli}


def _pm4py_log(root: Path, process: str):
    import pandas as pd

    name, delimiter, date_format = EXPORTS[process]
    if name.endswith(".xes"):
        # PM4Py refuses events without activity or timestamp: dropped, and the events sorted
        # by case and time (stable), as format_dataframe does (read_xes keeps the file's order)
        log = pm4py.read_xes(str(root / name))
        return pm4py.format_dataframe(log.dropna(subset=["concept:name", "time:timestamp"]))
    frame = pd.read_csv(root / name, sep=delimiter, encoding="utf-8-sig")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pm4py.format_dataframe(
            frame, case_id="Case ID", activity_key="Activity",
            timestamp_key="Complete Timestamp", timest_format=date_format,
        )  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("process", list(EXPORTS))
def test_exports_agree_with_pm4py(exports, process):
    cli = exports["cli"]
    log = _pm4py_log(exports["root"], process)
    result = cli("kpi", "process", process, "--json")
    assert result.returncode == 0, result.stderr
    kpis = json.loads(result.stdout)

    def sql(query: str) -> list[dict]:
        answer = cli("sql", query, "--json")
        assert answer.returncode == 0, answer.stderr
        return json.loads(answer.stdout)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        durations = np.array(pm4py.get_all_case_durations(log))
        theirs = {
            case_id: pm4py.get_all_case_durations(frame)[0]
            for case_id, frame in log.groupby("case:concept:name")
        }
        rework = {k: v for k, v in pm4py.get_rework_cases_per_activity(log).items() if v > 0}
        variants = {tuple(k): v for k, v in pm4py.get_variants(log).items()}
        frequency = dict(pm4py.discover_dfg(log)[0])
        performance = pm4py.discover_performance_dfg(log)[0]
    ours = {
        row["case_id"]: row["duration_seconds"]
        for row in sql(f"select case_id, duration_seconds from fct_cases where process_name = '{process}'")
    }  # fmt: skip
    assert len(ours) == len(theirs) and kpis["events"] == len(log)
    assert len(theirs) == CASES or process == "prom_xes"
    assert max(abs(ours[case] - theirs[case]) for case in theirs) < 1e-6
    block = kpis["case_duration_seconds"]
    assert block["median"] == pytest.approx(np.quantile(durations, 0.5), abs=1e-6)
    assert block["p95"] == pytest.approx(np.quantile(durations, 0.95), abs=1e-6)
    assert kpis["rework"]["cases_by_activity"] == rework and rework
    rows = sql(f"select variant, cases from fct_process_variants where process_name = '{process}'")
    assert {tuple(row["variant"].split(" > ")): row["cases"] for row in rows} == variants
    dfg = {(row["from_step"], row["to_step"]): row for row in kpis["directly_follows"]}
    assert {pair: row["count"] for pair, row in dfg.items()} == frequency
    for pair, stats in performance.items():
        assert dfg[pair]["mean_seconds"] == pytest.approx(stats["mean"], abs=1e-6), pair
        assert dfg[pair]["median_seconds"] == pytest.approx(stats["median"], abs=1e-6), pair
