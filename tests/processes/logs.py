"""Generated event logs for the PM4Py cross-checks and the benchmark (XES and CSV writers).

The logs have what makes process KPIs go wrong: time-zone offsets (the same instant written with
different offsets), events with equal timestamps inside a case, single-event cases, repeated
activities, sub-second times, and lifecycle transitions.
"""

from __future__ import annotations

import csv
import gzip
import io
import random
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from xml.sax.saxutils import quoteattr

ACTIVITIES = [
    "Register request",
    "Check ticket",
    "Examine casually",
    "Examine thoroughly",
    "Decide",
    "Reinitiate request",
    "Pay compensation",
    "Reject request",
]
RESOURCES = ["Sara", "Mike", "Ellen", "Pete", "Sue", "Sean"]
OFFSETS = [
    timezone(timedelta(hours=h, minutes=m))
    for h, m in ((0, 0), (2, 0), (-5, 0), (5, 30), (-9, -30), (13, 0))
]
REGIONS = ["EU", "US", "APAC"]


@dataclass(frozen=True)
class Event:
    case_id: str
    activity: str
    at: datetime  # aware
    resource: str
    lifecycle: str
    region: str


def generate(cases: int, seed: int = 7, start: datetime | None = None) -> Iterator[list[Event]]:
    """``cases`` traces, one list of events each, in file order (not necessarily time order)."""
    rng = random.Random(seed)
    origin = start or datetime(2024, 3, 1, tzinfo=UTC)
    for number in range(cases):
        case_id = f"case-{number:07d}"
        region = rng.choice(REGIONS)
        at = origin + timedelta(
            seconds=rng.randrange(0, 90 * 86400), microseconds=rng.choice([0, 0, 250_000, 123_456])
        )
        kind = rng.random()
        if kind < 0.08:
            steps = [rng.choice(ACTIVITIES)]  # single-event case
        else:
            steps = ["Register request"]
            for _ in range(rng.choice([1, 1, 2, 3])):
                steps += [
                    rng.choice(["Check ticket", "Examine casually", "Examine thoroughly"]),
                    "Decide",
                ]
                if rng.random() < 0.35:
                    steps.append("Reinitiate request")
            steps.append(rng.choice(["Pay compensation", "Reject request"]))
        events = []
        for activity in steps:
            if events and rng.random() < 0.12:
                gap = timedelta(0)  # equal timestamps inside the case
            else:
                gap = timedelta(seconds=rng.randrange(1, 5 * 86400))
            at = at + gap
            events.append(Event(case_id, activity, at, rng.choice(RESOURCES), "complete", region))
        yield events


def _stamp(at: datetime, rng: random.Random) -> str:
    local = at.astimezone(rng.choice(OFFSETS))
    text = local.isoformat(timespec="microseconds" if local.microsecond else "seconds")
    return text


def write_xes(traces: Iterator[list[Event]], path: Path, seed: int = 11) -> int:
    """Write an XES 1849 log; every timestamp with a random offset. Returns the events written."""
    rng = random.Random(seed)
    written = 0
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8" ?>\n')
        out.write(
            '<log xes.version="1849-2016" xes.features="nested-attributes" xmlns="http://www.xes-standard.org/">\n'
        )
        out.write(
            '  <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>\n'
        )
        out.write(
            '  <extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>\n'
        )
        out.write(
            '  <extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>\n'
        )
        out.write(
            '  <extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>\n'
        )
        out.write(
            '  <global scope="event"><string key="concept:name" value="__INVALID__"/></global>\n'
        )
        for events in traces:
            out.write("  <trace>\n")
            out.write(f'    <string key="concept:name" value={quoteattr(events[0].case_id)}/>\n')
            out.write(f'    <string key="region" value={quoteattr(events[0].region)}/>\n')
            for event in events:
                out.write("    <event>\n")
                out.write(f'      <string key="concept:name" value={quoteattr(event.activity)}/>\n')
                out.write(f'      <string key="org:resource" value={quoteattr(event.resource)}/>\n')
                out.write(f'      <date key="time:timestamp" value="{_stamp(event.at, rng)}"/>\n')
                out.write(f'      <string key="lifecycle:transition" value="{event.lifecycle}"/>\n')
                out.write("    </event>\n")
                written += 1
            out.write("  </trace>\n")
        out.write("</log>\n")
    return written


def write_csv(traces: Iterator[list[Event]], path: Path, seed: int = 13) -> int:
    """Write a CSV log with PM4Py's column names; timestamps with random offsets."""
    rng = random.Random(seed)
    written = 0
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(
            [
                "case:concept:name",
                "concept:name",
                "time:timestamp",
                "org:resource",
                "lifecycle:transition",
                "case:region",
            ]
        )
        for events in traces:
            for event in events:
                writer.writerow(
                    [
                        event.case_id,
                        event.activity,
                        _stamp(event.at, rng),
                        event.resource,
                        event.lifecycle,
                        event.region,
                    ]
                )
                written += 1
    return written


def write_export_csv(
    traces: Iterator[list[Event]],
    path: Path,
    *,
    delimiter: str = ";",
    date_format: str = "%d.%m.%Y %H:%M:%S",
) -> int:
    """Write a CSV the way spreadsheet and process-mining tools export it: a UTF-8 byte-order
    mark, ``delimiter`` between fields, CRLF line ends, blank lines, day-first local times
    without offset (``date_format``, in UTC here), tool column names ("Case ID", "Activity",
    "Complete Timestamp") and a repeated column name. Gzipped when ``path`` ends in ``.gz``."""
    rows = [["Case ID", "Activity", "Complete Timestamp", "Resource", "Note", "Note"]]
    for events in traces:
        rows += [
            [e.case_id, e.activity, e.at.astimezone(UTC).strftime(date_format), e.resource,
             e.region, f"{e.activity}; by {e.resource}"]
            for e in events
        ]  # fmt: skip
        rows.append([])  # a blank line after each case
    text = io.StringIO(newline="")
    csv.writer(text, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    payload = "\ufeff" + text.getvalue()
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8", newline="") as out:
        out.write(payload)
    return sum(1 for row in rows[1:] if row)


def write_prom_xes(traces: Iterator[list[Event]], path: Path) -> int:
    """Write an XES log as ProM / OpenXES do, with what real logs carry: no namespace, global
    event defaults that are placeholders (``__INVALID__``, the 1970 epoch), timestamps with ``Z``,
    without offset (UTC) or without colon in the offset, every 17th event without a timestamp and
    every 23rd without an activity, and the trace name after its events. Returns the events
    that have both."""
    complete = 0
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8" ?>\n<log xes.version="1.0">\n')
        out.write(
            '  <global scope="trace"><string key="concept:name" value="__INVALID__"/></global>\n'
        )
        out.write(
            '  <global scope="event">\n    <string key="concept:name" value="__INVALID__"/>\n'
        )
        out.write('    <date key="time:timestamp" value="1970-01-01T00:00:00.000+01:00"/>\n')
        out.write('    <string key="lifecycle:transition" value="complete"/>\n  </global>\n')
        position = 0
        for events in traces:
            out.write("  <trace>\n")
            for event in events:
                position += 1
                stamp = event.at.astimezone(UTC)
                text = (
                    stamp.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                    stamp.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
                    event.at.strftime("%Y-%m-%dT%H:%M:%S%z"),
                )[position % 3]
                out.write("    <event>\n")
                if position % 23:
                    out.write(
                        f'      <string key="concept:name" value={quoteattr(event.activity)}/>\n'
                    )
                if position % 17:
                    out.write(f'      <date key="time:timestamp" value="{text}"/>\n')
                out.write(f'      <string key="org:resource" value={quoteattr(event.resource)}/>\n')
                out.write("    </event>\n")
                complete += bool(position % 23 and position % 17)
            out.write(f'    <string key="concept:name" value={quoteattr(events[0].case_id)}/>\n')
            out.write("  </trace>\n")
        out.write("</log>\n")
    return complete


def flowledger_cli(home: Path, *args: str) -> str:
    """``flowledger --data-dir HOME ARGS`` in a child process, as a user runs it; its stdout
    (the test fails with the output's tail when it exits non-zero)."""
    from flowledger.settings import PROJECT_ROOT

    result = subprocess.run(
        [sys.executable, "-m", "flowledger.cli", "--data-dir", str(home), *args],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout
