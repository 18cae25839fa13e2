"""XES and CSV readers: attributes, offsets, trace attributes after events, streaming."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from flowledger.settings import DataDir
from flowledger.warehouse import connect_warehouse
from ingest.eventlog.csv_log import ColumnMapping, CsvLogError, read_csv_log
from ingest.eventlog.pipeline import ingest_event_logs
from ingest.eventlog.records import EventBatcher, utc_text
from ingest.eventlog.xes import XesError, read_xes
from ingest.scrub import luhn_valid

XES = """<?xml version="1.0"?>
<log xes.version="1849-2016" xmlns="http://www.xes-standard.org/">
  <global scope="trace"><string key="concept:name" value="?"/></global>
  <global scope="event"><string key="org:resource" value="nobody"/></global>
  <string key="concept:name" value="the log"/>
  <trace>
    <event>
      <string key="concept:name" value="A"/>
      <date key="time:timestamp" value="2024-01-01T10:00:00.500+02:00"/>
      <string key="lifecycle:transition" value="start"/>
      <int key="cost" value="7"/>
    </event>
    <string key="concept:name" value="T1"/>
    <event>
      <string key="concept:name" value="A"/>
      <string key="org:resource" value="ann"/>
      <date key="time:timestamp" value="2024-01-01T03:30:00-05:00"/>
    </event>
  </trace>
  <trace><string key="concept:name" value="T2"/><string key="kind" value="gold"/>
    <event><string key="concept:name" value="B"/></event>
  </trace>
</log>
"""


def test_xes_events_with_offsets_trace_attributes_and_defaults(tmp_path: Path):
    path = tmp_path / "log.xes"
    path.write_text(XES)
    events = list(read_xes(path))
    assert [(e.case_id, e.activity, e.resource, e.lifecycle) for e in events] == [
        ("T1", "A", "nobody", "start"),
        ("T1", "A", "ann", None),
        ("T2", "B", "nobody", None),
    ]
    assert utc_text(events[0].timestamp) == "2024-01-01T08:00:00.500000Z"
    assert utc_text(events[1].timestamp) == "2024-01-01T08:30:00.000000Z"
    assert events[0].attributes == {"cost": 7}
    assert events[2].attributes == {"case_kind": "gold"}
    assert events[2].timestamp is None  # no time: the contract check will quarantine it


def test_records_are_cloudevents_in_file_order(tmp_path: Path):
    path = tmp_path / "log.xes"
    path.write_text(XES)
    fields = ["specversion", "id", "source", "type", "time", "subject", "data"]
    (batch,) = list(EventBatcher("claims", fields, 10).batches(read_xes(path)))
    rows = batch.frame.to_dicts()
    # the rank among the case's events at that time, then a digest of the event's time and data
    assert [r["id"][:7] for r in rows] == ["000001-", "000001-", "000001-"]
    assert len({r["id"] for r in rows}) == 3
    assert rows[0]["source"] == "/eventlog/claims" and rows[0]["subject"] == "T1"
    assert json.loads(rows[1]["data"]) == {"case_id": "T1", "activity": "A", "resource": "ann"}


@pytest.mark.parametrize("text", ["<notxes/>", "<log><trace>", ""])
def test_broken_xes_is_refused_with_the_reason(tmp_path: Path, text: str):
    path = tmp_path / "bad.xes"
    path.write_text(text)
    with pytest.raises(XesError, match="bad.xes"):
        list(read_xes(path))


def test_csv_mapping_guesses_and_checks_columns(tmp_path: Path):
    path = tmp_path / "log.csv"
    path.write_text("CaseID,Activity,When,Who\nc1,A,2024-01-01T00:00:00Z,ann\n")
    with pytest.raises(CsvLogError, match="no timestamp column found .*--timestamp-column"):
        list(read_csv_log(path, ColumnMapping(case="CaseID")))
    with pytest.raises(CsvLogError, match="--case-column 'Case' is not a column"):
        list(read_csv_log(path, ColumnMapping(case="Case", timestamp="When")))
    (event,) = read_csv_log(path, ColumnMapping(case="CaseID", timestamp="When", resource="Who"))
    assert (event.case_id, event.activity, event.resource) == ("c1", "A", "ann")


@pytest.mark.slow
def test_xes_memory_does_not_grow_with_the_file(tmp_path: Path):
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from logs import generate, write_xes

    peaks = []
    for cases in (500, 5_000):
        path = tmp_path / f"log{cases}.xes"
        write_xes(generate(cases), path)
        tracemalloc.start()
        count = sum(1 for _ in read_xes(path))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert count > cases
    # ten times the events, about the same peak (one trace at a time)
    assert peaks[1] < peaks[0] * 2, peaks


def test_csv_timestamp_format(tmp_path: Path):
    path = tmp_path / "log.csv"
    path.write_text("case,activity,timestamp\nc1,A,30-12-2010 11:02\nc1,B,not a date\n")
    first, second = read_csv_log(path, ColumnMapping(timestamp_format="%d-%m-%Y %H:%M"))
    assert utc_text(first.timestamp) == "2010-12-30T11:02:00.000000Z"
    assert second.timestamp == "not a date"  # left as written: quarantined with the reason


def test_utc_text_of_a_time_beyond_year_9999_in_utc_is_left_for_the_check() -> None:
    # 9999-12-31T23:30:00-01:00 is in year 10000 in UTC: kept as written (the contract check
    # quarantines it with its reason), never an OverflowError
    assert utc_text("9999-12-31T23:30:00-01:00") == "9999-12-31T23:30:00-01:00"
    assert utc_text("0001-01-01T00:10:00+01:00") == "0001-01-01T00:10:00+01:00"


def test_case_ids_that_pass_luhn_are_not_taken_for_cards(tmp_path: Path) -> None:
    """SAP client-document-item keys (Celonis' case ids) and 16-digit ids passing the Luhn check
    by chance land unchanged: masked as cards, three cases became one with every step repeated."""
    keys = [f"800-45000{n:05d}-00010" for n in range(2000)]
    keys = [key for key in keys if luhn_valid(key.replace("-", ""))][:3] + ["1000000000080042"]
    # with a card network's prefix, ending alike (both were "[CARD ****9424]": one case), and
    # account-shaped ("[IBAN GB82 ****5432]")
    keys += ["6011000990139424", "6011222233369424", "GB82WEST12345698765432"]
    path = tmp_path / "sap.csv"
    path.write_text(
        "case,activity,time\n"
        + "".join(
            f"{key},{activity},2024-01-0{day}T10:00:00Z\n"
            for key in keys
            for day, activity in ((1, "Create PO Item"), (2, "Receive Goods"))
        )
    )
    data_dir = DataDir(tmp_path / "home")
    summary = ingest_event_logs(
        [path], data_dir, file_format="csv", process_name="purchasing",
        mapping=ColumnMapping(case="case", activity="activity", timestamp="time"),
    )  # fmt: skip
    assert [(f.accepted, f.quarantined) for f in summary.files] == [(14, 0)]
    con = connect_warehouse(data_dir, read_only=True)
    try:
        landed = con.execute(
            "select distinct subject, data->>'case_id' from raw.business_events order by 1"
        ).fetchall()
    finally:
        con.close()
    assert landed == sorted((key, key) for key in keys)


def test_a_log_re_saved_compressed_or_grown_lands_each_event_once(tmp_path: Path) -> None:
    """Event ids came from the file's digest and the row's position: the same log re-saved with
    CRLF, compressed, or exported again with more cases landed every event a second time (every
    case then repeated each step). The id is the event's content now, ranked among the case's
    events at the same time, so ties keep their order in the file."""
    import gzip

    rows = [
        ("c1", "Register", "2024-01-01T10:00:00Z"),
        ("c1", "Check", "2024-01-01T11:00:00Z"),
        ("c1", "Check", "2024-01-01T11:00:00Z"),  # the same step twice at one time: two events
        ("c2", "Register", "2024-01-02T10:00:00Z"),
        ("c2", "Approve", "2024-01-02T10:00:00Z"),  # a tie: Approve after Register
    ]
    grown = rows[:3] + [("c0", "Register", "2023-12-31T09:00:00Z")] + rows[3:]
    grown += [("c3", "Register", "2024-01-03T08:00:00Z")]

    def csv_text(events: list[tuple[str, str, str]], newline: str = "\n") -> str:
        return newline.join(["case,activity,time", *(",".join(e) for e in events)]) + newline

    first = tmp_path / "log.csv"
    first.write_text(csv_text(rows))
    crlf = tmp_path / "log-crlf.csv"
    crlf.write_bytes(csv_text(rows, "\r\n").encode())
    compressed = tmp_path / "log.csv.gz"
    compressed.write_bytes(gzip.compress(csv_text(rows).encode()))
    bigger = tmp_path / "log-grown.csv"
    bigger.write_text(csv_text(grown))
    data_dir = DataDir(tmp_path / "home")
    mapping = ColumnMapping(case="case", activity="activity", timestamp="time")
    landed = [
        ingest_event_logs(
            [path], data_dir, file_format="csv", process_name="claims", mapping=mapping
        ).files[0]
        for path in (first, crlf, compressed, bigger)
    ]
    assert [(f.accepted, f.duplicates, f.collisions) for f in landed] == [
        (5, 0, 0),
        (0, 5, 0),
        (0, 5, 0),
        (2, 5, 0),
    ]
    con = connect_warehouse(data_dir, read_only=True)
    try:
        order = con.execute(
            "select subject, data->>'activity' from raw.business_events order by subject, time, id"
        ).fetchall()
    finally:
        con.close()
    assert order == [
        ("c0", "Register"),
        ("c1", "Register"), ("c1", "Check"), ("c1", "Check"),
        ("c2", "Register"), ("c2", "Approve"),
        ("c3", "Register"),
    ]  # fmt: skip


def test_a_log_refused_whole_declares_no_process(tmp_path: Path) -> None:
    """A log no event of which could be read (here: no column holds the timestamps) left its
    process declared in processes.yml, with no event, until the user removed it by hand."""
    path = tmp_path / "log.csv"
    path.write_text("case,activity,when\n1,a,1700000000000\n")
    data_dir = DataDir(tmp_path / "home")
    summary = ingest_event_logs(
        [path], data_dir, file_format="csv", process_name="refused",
        mapping=ColumnMapping(case="case", activity="activity", timestamp="missing"),
    )  # fmt: skip
    assert summary.failed_files
    assert not (data_dir.root / "processes.yml").exists()
    good = tmp_path / "good.csv"
    good.write_text("case,activity,time\n1,a,2024-01-01T10:00:00Z\n")
    ingest_event_logs(
        [good], data_dir, file_format="csv", process_name="refused",
        mapping=ColumnMapping(case="case", activity="activity", timestamp="time"),
    )  # fmt: skip
    assert "  refused:\n" in (data_dir.root / "processes.yml").read_text()


def test_attributes_that_become_one_field_name_are_all_kept(tmp_path: Path) -> None:
    """`cost:total` and `cost_total` are both `cost_total` as field names: the second one
    overwrote the first; an attribute named `activity` (not the mapped column) overwrote nothing
    only because the import's own field was set after it."""
    path = tmp_path / "log.csv"
    path.write_text(
        "case,Activity,time,cost:total,cost_total,activity\n1,a,2024-01-01T10:00:00Z,5,6,zzz\n"
    )
    mapping = ColumnMapping(case="case", activity="Activity", timestamp="time")
    (event,) = read_csv_log(path, mapping)
    data = json.loads(EventBatcher("p", ["data"], 10).record(1, event)["data"])
    assert data == {
        "cost_total": "5", "cost_total_2": "6", "activity_2": "zzz", "case_id": "1",
        "activity": "a",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("values", "given"),
    [
        (["1700000000000", "1700000360500"], None),  # milliseconds, inferred
        (["1700000000", "1700000360"], None),  # seconds, inferred
        (["1700000000000", "1700000360500"], "epoch_ms"),
    ],
)
def test_unix_times_are_read(tmp_path: Path, values: list[str], given: str | None) -> None:
    """Epoch milliseconds (databases, Kafka) had no strptime code: every event quarantined."""
    path = tmp_path / "log.csv"
    path.write_text("case,activity,time\n" + "".join(f"1,a{i},{v}\n" for i, v in enumerate(values)))
    mapping = ColumnMapping(case="case", activity="activity", timestamp="time")
    if given:
        mapping = ColumnMapping(
            case="case", activity="activity", timestamp="time", timestamp_format=given
        )
    times = [utc_text(event.timestamp) for event in read_csv_log(path, mapping)]
    first = "2023-11-14T22:13:20.000000Z"
    second = (
        "2023-11-14T22:19:20.500000Z" if len(values[1]) == 13 else "2023-11-14T22:19:20.000000Z"
    )
    assert times == [first, second]


def test_personal_data_of_an_event_log_is_redacted_as_the_contract_says(tmp_path: Path) -> None:
    """A trace's `customer_name`, `phone` and `date_of_birth` became `case_customer_name`…,
    and a CSV header `Customer Name` the key `Customer_Name`: no contract rule matched them,
    and they were stored in clear (the date of birth must be dropped). A header holding a
    secret lost its `=` before any rule could see it."""
    xes = tmp_path / "people.xes"
    xes.write_text(
        '<?xml version="1.0"?>\n<log xes.version="1849-2016" xmlns="http://www.xes-standard.org/">'
        '<trace><string key="concept:name" value="T1"/>'
        '<string key="customer_name" value="Quincy Adams"/>'
        '<string key="phone" value="+49 151 0201 1407"/>'
        '<string key="date_of_birth" value="1966-06-06"/>'
        '<event><string key="concept:name" value="A"/>'
        '<date key="time:timestamp" value="2024-01-01T10:00:00Z"/></event></trace></log>'
    )
    csv = tmp_path / "people.csv"
    csv.write_text(
        "case,activity,time,Customer Name,api_key=Hunter22header\n"
        "c1,A,2024-01-01T10:00:00Z,Quincy Adams,x\n"
    )
    data_dir = DataDir(tmp_path / "home")
    ingest_event_logs([xes], data_dir, file_format="xes", process_name="people")
    ingest_event_logs(
        [csv], data_dir, file_format="csv", process_name="people_csv",
        mapping=ColumnMapping(case="case", activity="activity", timestamp="time"),
    )  # fmt: skip
    con = connect_warehouse(data_dir, read_only=True)
    try:
        rows = con.execute("select data from raw.business_events order by source").fetchall()
    finally:
        con.close()
    from_xes, from_csv = (json.loads(data) for (data,) in rows)
    assert from_xes["case_customer_name"].startswith("<pii:")
    assert from_xes["case_phone"] == "[MASKED]"
    assert "case_date_of_birth" not in from_xes
    assert from_csv["Customer_Name"].startswith("<pii:")
    assert not any("Hunter22header" in key for key in from_csv)
    assert from_csv["api_key__REDACTED_secret_"] == "[REDACTED:secret]"  # a secret's name
