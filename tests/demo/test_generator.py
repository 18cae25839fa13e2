"""The demo generator: deterministic, contract-conformant, and every phenomenon is in the files.

Each phenomenon is counted again from the written files (independently of the generator's code)
and compared with ``summary.truth``, which the generator counted while writing.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from statistics import median

import polars as pl
import pytest
import yaml
from demo_support import SMALL_DAYS, DemoFiles

from flowledger.demo import generate
from flowledger.demo.records import RECORD_KINDS
from flowledger.settings import CONTRACTS_DIR, PROJECT_ROOT

CONTRACT_OF_KIND = {
    "flow_runs": "flow_run",
    "step_runs": "step_run",
    "queue_depth_samples": "queue_depth_sample",
    "business_events": "business_event",
}
RFC3339_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
FAILED = {"failed", "timed_out"}
SECRET_MARKERS = ("hunter2", "sk_live_", "Bearer eyJ")
STALE_DAYS = 7


def contract_properties(kind: str) -> list[dict]:
    path = CONTRACTS_DIR / f"{CONTRACT_OF_KIND[kind]}.odcs.yaml"
    return yaml.safe_load(path.read_text())["schema"][0]["properties"]


def valid_values(prop: dict) -> list[str] | None:
    for rule in prop.get("quality", []):
        if rule.get("metric") == "invalidValues":
            return rule["arguments"]["validValues"]
    return None


def process_event_types() -> list[dict]:
    """One row per (process, event type) of ``config/processes.yml``, the shipped processes."""
    config = yaml.safe_load((PROJECT_ROOT / "config" / "processes.yml").read_text())
    return [
        {
            "process_name": name,
            "event_type": event_type,
            "case_key_field": process["case_key"],
            "is_start": step == process["start"],
            "is_end": step == process["end"],
        }
        for name, process in config["processes"].items()
        for event_type, step in process["events"].items()
    ]


def parse_time(text: str) -> datetime:
    assert RFC3339_Z.match(text), f"not RFC 3339 with Z and milliseconds: {text!r}"
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def distinct(records: list[dict], key: tuple[str, ...]) -> list[dict]:
    """First record per key, in file order: what ingest keeps."""
    seen: dict[tuple, dict] = {}
    for record in records:
        seen.setdefault(tuple(record[k] for k in key), record)
    return list(seen.values())


def cases_from_events(events: list[dict]) -> dict[tuple[str, str], list[dict]]:
    """(process, case id) -> events of the case, ordered by time, deduplicated on (source, id)."""
    types = process_event_types()
    case_key = {row["event_type"]: (row["process_name"], row["case_key_field"]) for row in types}
    cases: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for event in distinct(events, ("source", "id")):
        process, key_field = case_key[event["type"]]
        cases[(process, event["data"][key_field])].append(event)
    for case_events in cases.values():
        case_events.sort(key=lambda e: (e["time"], e["id"]))
    return cases


# ----------------------------------------------------------------------------- determinism


def test_same_seed_and_arguments_give_identical_bytes_and_another_seed_differs(tmp_path: Path):
    def digests(out: Path, seed: int) -> dict[str, str]:
        summary = generate(out, seed=seed, days=6, cases_per_day=60)
        return {k: hashlib.sha256(p.read_bytes()).hexdigest() for k, p in summary.files.items()}

    first, again, other = (
        digests(tmp_path / "a", 7),
        digests(tmp_path / "b", 7),
        digests(tmp_path / "c", 8),
    )
    assert first == again
    assert all(first[kind] != other[kind] for kind in first)


# ------------------------------------------------------------------------------- contracts


@pytest.mark.parametrize("kind", [k.name for k in RECORD_KINDS])
def test_field_lists_are_the_contract_properties_in_order(kind: str):
    record_kind = next(k for k in RECORD_KINDS if k.name == kind)
    assert list(record_kind.fields) == [p["name"] for p in contract_properties(kind)]


@pytest.mark.parametrize("kind", ["flow_runs", "step_runs", "queue_depth_samples"])
def test_run_and_queue_records_conform_to_their_contract(demo: DemoFiles, kind: str):
    properties = contract_properties(kind)
    names = [p["name"] for p in properties]
    records = demo.records[kind]
    assert records, f"{kind} is empty"
    for record in records:
        assert list(record) == names  # every property, in contract order, nothing else
        for prop in properties:
            check_value(record, prop)


def check_value(record: dict, prop: dict) -> None:
    name, value = prop["name"], record.get(prop["name"])
    if value is None:
        assert not prop.get("required"), f"required {name} missing in {record}"
        return
    logical = prop["logicalType"]
    if logical == "timestamp":
        parse_time(value)
    elif logical == "integer":
        assert isinstance(value, int) and not isinstance(value, bool), (name, value)
        minimum = prop.get("logicalTypeOptions", {}).get("minimum")
        assert minimum is None or value >= minimum, (name, value)
    elif logical == "number":
        assert isinstance(value, int | float) and value >= 0, (name, value)
    elif logical == "boolean":
        assert isinstance(value, bool), (name, value)
    elif logical == "string":
        assert isinstance(value, str) and value, (name, value)
    allowed = valid_values(prop)
    assert allowed is None or value in allowed, f"{name}={value!r} not in {allowed}"


def test_business_events_are_cloudevents_of_the_listed_types(demo: DemoFiles):
    properties = {p["name"]: p for p in contract_properties("business_events")}
    listed = {row["event_type"]: row["case_key_field"] for row in process_event_types()}
    events = demo.records["business_events"]
    for event in events:
        assert set(event) <= set(properties)
        for prop in properties.values():
            if prop["logicalType"] != "object":
                check_value(event, prop)
        assert event["specversion"] == "1.0"
        assert re.match(r"^/acme/[a-z]+$", event["source"])
        assert event["type"] in listed
        assert event["datacontenttype"] == "application/json"
        assert isinstance(event["data"], dict)
        assert event["subject"] == event["data"][listed[event["type"]]]
    assert {e["type"] for e in events} == set(listed)  # every listed type occurs


def test_business_data_carries_customers_regions_channels_and_money(demo: DemoFiles):
    placed = [
        e["data"] for e in demo.records["business_events"] if e["type"].endswith("order.placed")
    ]
    assert all(d["customer_email"].endswith("@example.com") for d in placed)
    assert {d["region"] for d in placed} == {"EMEA", "AMER", "APAC"}
    assert {d["channel"] for d in placed} == {"web", "partner", "direct"}
    assert {d["currency"] for d in placed} <= {"EUR", "GBP", "USD", "AUD"}
    assert all(isinstance(d["amount"], float) and d["amount"] > 0 for d in placed)
    assert all(d["payment_status"] == "pending" and d["shipping_address"] for d in placed)


# ------------------------------------------------------------------------ times and links


def test_times_are_ordered_and_steps_lie_inside_their_run(demo: DemoFiles):
    runs = {}
    for run in demo.records["flow_runs"]:
        queued, started, ended = (
            parse_time(run[k]) for k in ("queued_at", "started_at", "ended_at")
        )
        assert queued <= started <= ended, run
        runs[(run["source_system"], run["run_id"], run["run_attempt"])] = (started, ended)
    for step in demo.records["step_runs"]:
        started, ended = parse_time(step["started_at"]), parse_time(step["ended_at"])
        run_started, run_ended = runs[(step["source_system"], step["run_id"], step["run_attempt"])]
        assert run_started <= started <= ended <= run_ended, step


def test_runs_have_two_to_five_steps_with_types_systems_and_items(demo: DemoFiles):
    steps = Counter()
    for step in demo.records["step_runs"]:
        steps[(step["source_system"], step["run_id"], step["run_attempt"])] += step["attempt"] == 1
        assert step["step_type"] and step["system"]
        assert step["items_in"] >= 0 and step["items_out"] >= 0
    for run in demo.records["flow_runs"]:
        count = steps[(run["source_system"], run["run_id"], run["run_attempt"])]
        assert (count == 1) if run["status"] == "skipped" else (1 <= count <= 5), run
        assert run["business_key"] and run["trace_id"] and run["flow_version"]


def test_every_event_after_the_first_of_a_case_comes_from_a_run_on_that_case(demo: DemoFiles):
    runs_by_trace = {r["trace_id"]: r for r in demo.records["flow_runs"]}
    starts = {row["event_type"] for row in process_event_types() if row["is_start"]}
    for (_, case_id), events in cases_from_events(demo.records["business_events"]).items():
        for event in events:
            if event["type"] in starts:
                assert "traceparent" not in event
                continue
            trace_id = event["traceparent"].split("-")[1]
            assert runs_by_trace[trace_id]["business_key"] == case_id


def test_waits_are_realistic_and_quotes_follow_business_days(demo: DemoFiles):
    contract_waits, capture_waits = [], []
    quote_weekdays = Counter()
    for (process, _), events in cases_from_events(demo.records["business_events"]).items():
        first = {}
        for e in events:
            first.setdefault(e["type"], parse_time(e["time"]))
        if process == "quote_to_cash":
            quote_weekdays[first["com.acme.crm.quote.approved"].weekday() < 5] += 1
            if "com.acme.clm.contract.signed" in first:
                wait = first["com.acme.clm.contract.signed"] - first["com.acme.crm.quote.approved"]
                contract_waits.append(wait.total_seconds())
        if process == "cart_to_fulfillment" and "com.acme.psp.payment.captured" in first:
            wait = first["com.acme.psp.payment.captured"] - first["com.acme.shop.order.placed"]
            capture_waits.append(wait.total_seconds())
    assert 12 * 3600 < median(contract_waits) < 5 * 86400  # hours to days
    assert 30 < median(capture_waits) < 30 * 60  # minutes
    assert quote_weekdays[True] > 8 * quote_weekdays[False]  # quotes are approved on weekdays


# ------------------------------------------------------------------- phenomena vs the truth


def test_duplicate_lines_match_truth(demo: DemoFiles):
    truth = demo.summary.truth
    for kind, fact in (
        ("flow_runs", "duplicate_flow_run_lines"),
        ("business_events", "duplicate_event_lines"),
    ):
        lines = demo.lines[kind]
        assert len(lines) - len(set(lines)) == truth[fact] > 0


def test_event_id_collisions_match_truth(demo: DemoFiles):
    variants = defaultdict(set)
    for line, event in zip(
        demo.lines["business_events"], demo.records["business_events"], strict=True
    ):
        variants[(event["source"], event["id"])].add(line)
    collisions = sum(1 for lines in variants.values() if len(lines) > 1)
    assert collisions == demo.summary.truth["event_id_collisions"] > 0


def test_duplicate_deliveries_and_idempotency_collisions_match_truth(demo: DemoFiles):
    runs = distinct(demo.records["flow_runs"], ("source_system", "run_id", "run_attempt"))
    runs_per_delivery = defaultdict(set)
    digests_per_key = defaultdict(set)
    statuses = Counter()
    for run in sorted(runs, key=lambda r: r["started_at"]):
        delivery = (run["flow_id"], run["idempotency_key"], run["input_digest"])
        if runs_per_delivery[delivery] and run["run_id"] not in runs_per_delivery[delivery]:
            statuses[run["status"]] += 1
        runs_per_delivery[delivery].add(run["run_id"])
        digests_per_key[(run["flow_id"], run["idempotency_key"])].add(run["input_digest"])
    truth = demo.summary.truth
    assert dict(statuses) == truth["duplicate_deliveries"]
    assert set(statuses) == {"skipped", "success"}
    collisions = sum(1 for digests in digests_per_key.values() if len(digests) > 1)
    assert collisions == truth["idempotency_collisions"] > 0


def test_failures_retries_re_executions_and_dead_letters_match_truth(demo: DemoFiles):
    truth = demo.summary.truth
    steps = demo.records["step_runs"]
    runs = distinct(demo.records["flow_runs"], ("source_system", "run_id", "run_attempt"))
    failed_steps = [s for s in steps if s["status"] in FAILED]
    assert len(failed_steps) == truth["failed_step_attempts"]
    assert Counter(s["error_type"] for s in failed_steps) == Counter(truth["error_types"])
    assert set(truth["error_types"]) == {"http_503", "timeout", "validation_error", "rate_limited"}
    assert sum(s["attempt"] > 1 for s in steps) == truth["retried_step_attempts"]
    # a transient failure on attempt 1, then success on attempt 2 of the same step execution
    outcome = {
        (s["run_id"], s["run_attempt"], s["step_id"], s["attempt"]): s["status"] for s in steps
    }
    recovered = [k for k, status in outcome.items() if k[3] == 2 and status == "success"]
    assert recovered and all(outcome[(*k[:3], 1)] in FAILED for k in recovered)

    assert Counter(r["flow_id"] for r in runs) == Counter(truth["flow_runs"])
    assert Counter(r["flow_id"] for r in runs if r["status"] == "failed") == Counter(
        truth["failed_runs"]
    )
    assert Counter(r["trigger"] for r in runs if r["run_attempt"] == 2) == Counter(
        truth["re_executions"]
    )
    assert set(truth["re_executions"]) == {"retry", "manual"}
    final = {}
    for run in sorted(runs, key=lambda r: r["run_attempt"]):
        final[(run["source_system"], run["run_id"])] = run
    failed_for_good = Counter(r["flow_id"] for r in final.values() if r["status"] == "failed")
    assert failed_for_good == Counter(truth["runs_failed_for_good"])

    dead = [s for s in steps if s["dead_lettered"]]
    assert Counter(s["flow_id"] for s in dead) == Counter(truth["dead_letters"])
    assert all(s["status"] in FAILED and s["queue_name"] and s["message_id"] for s in dead)
    assert all(
        s["attempt"] == s["max_attempts"] or s["error_type"] == "validation_error" for s in dead
    )


def test_secrets_in_error_messages_and_urls_match_truth(demo: DemoFiles):
    truth = demo.summary.truth

    def leaking(kind: str, field: str) -> int:
        records = demo.records[kind]
        if kind == "flow_runs":
            records = distinct(records, ("source_system", "run_id", "run_attempt"))
        return sum(1 for r in records if r[field] and any(m in r[field] for m in SECRET_MARKERS))

    assert (
        leaking("step_runs", "error_message")
        == truth["error_messages_with_secret"]["step_runs"]
        > 0
    )
    assert (
        leaking("flow_runs", "error_message")
        == truth["error_messages_with_secret"]["flow_runs"]
        > 0
    )
    assert leaking("flow_runs", "url") == truth["urls_with_secret"] > 0
    messages = " ".join(s["error_message"] or "" for s in demo.records["step_runs"])
    assert all(marker in messages for marker in SECRET_MARKERS)


def test_cases_completion_staleness_and_rework_match_truth(demo: DemoFiles):
    truth = demo.summary.truth
    end_type = {r["process_name"]: r["event_type"] for r in process_event_types() if r["is_end"]}
    window_end = demo.summary.start.timestamp() + SMALL_DAYS * 86400
    started, completed, incomplete, stale, rework = (Counter() for _ in range(5))
    repeated = Counter()
    for (process, _), events in cases_from_events(demo.records["business_events"]).items():
        started[process] += 1
        types = Counter(e["type"] for e in events)
        if types[end_type[process]]:
            completed[process] += 1
        else:
            incomplete[process] += 1
            last = max(parse_time(e["time"]).timestamp() for e in events)
            stale[process] += last < window_end - STALE_DAYS * 86400
        repeats = {t: n - 1 for t, n in types.items() if n > 1}
        rework[process] += bool(repeats)
        repeated.update(repeats)
    assert started == Counter(truth["cases_started"]) == Counter(demo.summary.cases)
    assert completed == Counter(truth["cases_completed"])
    assert incomplete == Counter(truth["cases_incomplete"])
    assert stale == Counter(truth["cases_stale"])
    assert rework == Counter(truth["rework_cases"])
    assert repeated == Counter(truth["repeated_events"])
    assert set(repeated) == {"com.acme.clm.contract.signed", "com.acme.wms.order.picked"}
    for process, halted in truth["cases_halted"].items():
        assert 0 < halted <= stale[process] + incomplete[process]


def test_stuck_orders_paid_but_never_picked_exist(demo: DemoFiles):
    window_end = demo.summary.start.timestamp() + SMALL_DAYS * 86400
    stuck = 0
    for (process, _), events in cases_from_events(demo.records["business_events"]).items():
        types = {e["type"] for e in events}
        last = max(parse_time(e["time"]).timestamp() for e in events)
        if (
            process == "cart_to_fulfillment"
            and "com.acme.psp.payment.captured" in types
            and "com.acme.wms.order.picked" not in types
            and last < window_end - STALE_DAYS * 86400
        ):
            stuck += 1
    assert stuck >= demo.summary.truth["lost_handoffs"]["cart_to_fulfillment"] * 0.5 > 0


def test_corrections_reset_an_earlier_field_to_another_value_and_match_truth(demo: DemoFiles):
    truth = demo.summary.truth
    corrections, fields, gray = Counter(), Counter(), 0
    for _, events in cases_from_events(demo.records["business_events"]).items():
        for index, event in enumerate(events):
            if not event["type"].endswith(".corrected"):
                continue
            field = ({"amount", "shipping_address"} & set(event["data"])).pop()
            earlier = [e for e in events[:index] if field in e["data"]]
            assert earlier and all(e["data"][field] != event["data"][field] for e in earlier[-1:])
            corrections[event["type"]] += 1
            fields[field] += 1
            gray += any("traceparent" in e for e in earlier)  # set by a run that succeeded
    assert corrections == Counter(truth["corrections"])
    assert fields == Counter(truth["corrected_fields"])
    assert set(fields) == {"amount", "shipping_address"}
    assert gray == truth["gray_failures"] > 0


def test_tickets_escalate_and_some_carry_an_order_id(demo: DemoFiles):
    opened = [
        e for e in demo.records["business_events"] if e["type"] == "com.acme.desk.ticket.opened"
    ]
    with_order = distinct([e for e in opened if "order_id" in e["data"]], ("source", "id"))
    assert len(with_order) == demo.summary.truth["tickets_with_order"] > 0
    order_ids = {
        e["data"]["order_id"] for e in demo.records["business_events"] if "order_id" in e["data"]
    }
    assert all(e["data"]["order_id"] in order_ids for e in with_order)
    escalated = [
        e for e in demo.records["business_events"] if e["type"].endswith("ticket.escalated")
    ]
    assert any("order_id" in e["data"] for e in escalated)


def test_incident_fails_the_wms_steps_and_fills_the_dispatch_queue(demo: DemoFiles):
    incident = demo.summary.truth["incident"]
    start, end = parse_time(incident["start"]), parse_time(incident["end"])
    assert (
        incident["flow_id"] == "c2f-warehouse-dispatch" and incident["day"] == 2 * SMALL_DAYS // 3
    )
    inside, outside = Counter(), Counter()
    for step in demo.records["step_runs"]:
        if step["system"] != "wms":
            continue
        bucket = inside if start <= parse_time(step["started_at"]) < end else outside
        bucket[step["status"] in FAILED] += 1
    rate_inside = inside[True] / sum(inside.values())
    rate_outside = outside[True] / sum(outside.values())
    assert rate_inside > 10 * rate_outside

    depth = defaultdict(list)
    for sample in demo.records["queue_depth_samples"]:
        if sample["queue_name"] == incident["queue_name"]:
            at = parse_time(sample["sampled_at"])
            phase = (
                "during"
                if start <= at < end
                else "drain"
                if end <= at < end + (end - start)
                else "normal"
            )
            depth[phase].append(sample["depth"])
    peak = max(depth["during"] + depth["drain"])  # the backlog is largest as the outage ends
    assert peak == demo.summary.truth["queue_peak_depth"]["wms.dispatch"]
    assert max(depth["during"]) > 3 * max(depth["normal"])
    assert median(depth["during"]) > 3 * median(depth["normal"])
    assert median(depth["drain"]) > median(depth["normal"])


def test_queue_samples_every_five_minutes_per_queue_fed_flow(demo: DemoFiles):
    samples = demo.records["queue_depth_samples"]
    per_queue = Counter(s["queue_name"] for s in samples)
    assert per_queue == dict.fromkeys(
        ["erp.invoice-requests", "shop.orders", "psp.capture-requests", "wms.dispatch"],
        SMALL_DAYS * 288,
    )
    keys = {(s["source_system"], s["queue_name"], s["sampled_at"]) for s in samples}
    assert len(keys) == len(samples)


def test_payment_capture_cutover_raises_the_failure_rate(demo: DemoFiles):
    cutover = demo.summary.truth["cutover"]
    at = parse_time(cutover["at"])
    runs = distinct(demo.records["flow_runs"], ("source_system", "run_id", "run_attempt"))
    capture = [
        r
        for r in runs
        if r["flow_id"] == cutover["flow_id"]
        and r["run_attempt"] == 1
        and r["execution_mode"] != "shadow"
    ]
    rates = {}
    for version in ("1.4.2", "2.0.0"):
        of_version = [r for r in capture if r["flow_version"] == version]
        assert all((parse_time(r["started_at"]) >= at) == (version == "2.0.0") for r in of_version)
        rates[version] = sum(r["status"] == "failed" for r in of_version) / len(of_version)
        assert rates[version] == pytest.approx(cutover[f"failure_rate_{version}"], abs=1e-4)
    assert rates["2.0.0"] > 2 * rates["1.4.2"]


def test_shadow_runs_of_the_new_version_beside_the_live_one_before_the_cutover(demo: DemoFiles):
    """Recount the comparison from the files, by a rule written independently here."""
    facts = demo.summary.truth["parallel_runs"]
    runs = distinct(demo.records["flow_runs"], ("source_system", "run_id", "run_attempt"))
    shadow = [r for r in runs if r["execution_mode"] == "shadow"]
    assert {(r["flow_id"], r["flow_version"], r["run_attempt"]) for r in shadow} == {
        (facts["flow_id"], "2.0.0", 1)
    }
    start, end = parse_time(facts["shadow_from"]), parse_time(facts["shadow_to"])
    assert all(start <= parse_time(r["queued_at"]) < end for r in shadow)
    assert {r["execution_mode"] for r in runs} == {None, "shadow"}
    keys = {r["business_key"] for r in shadow}

    def result(mode: str, version: str, key: str) -> dict:
        done = [
            r
            for r in runs
            if r["business_key"] == key
            and r["flow_id"] == facts["flow_id"]
            and (r["execution_mode"] or "live") == mode
            and r["flow_version"] == version
            and r["outputs"] is not None
        ]
        if not done:
            return {}
        latest = max(done, key=lambda r: (parse_time(r["started_at"]), r["run_id"]))
        return json.loads(latest["outputs"])

    mismatched, differing = 0, Counter()
    for key in keys:
        live, new = result("live", "1.4.2", key), result("shadow", "2.0.0", key)
        fields = {f for f in live.keys() | new.keys() if live.get(f, ...) != new.get(f, ...)}
        mismatched += bool(fields)
        differing.update(fields)
    pair = facts["pairs"]["1.4.2->2.0.0"]
    assert pair["keys_compared"] == len(keys) > 100
    assert pair["keys_mismatched"] == mismatched
    assert pair["differing_fields"] == dict(differing)
    # planted: ~3 % amounts a cent off, ~1 % lower-case currencies, ~6 % failed runs (no outputs)
    assert 0.05 < pair["mismatch_rate"] < 0.2
    assert differing["amount"] > differing["payment_status"]
    assert differing["currency"] > differing["payment_status"]


# --------------------------------------------------------------------------- scale, formats


def test_target_events_lands_within_20_percent(tmp_path: Path):
    summary = generate(tmp_path, target_events=200_000)
    assert 160_000 <= summary.event_run_step_rows <= 240_000


def test_parquet_holds_the_same_rows_as_ndjson(tmp_path: Path):
    ndjson = generate(tmp_path / "n", days=4, cases_per_day=50)
    parquet = generate(tmp_path / "p", days=4, cases_per_day=50, file_format="parquet")
    assert ndjson.rows == parquet.rows and ndjson.truth == parquet.truth
    for kind in ndjson.files:
        from_json = pl.read_ndjson(ndjson.files[kind], infer_schema_length=None)
        from_parquet = pl.read_parquet(parquet.files[kind])
        assert from_parquet.columns == list(next(k for k in RECORD_KINDS if k.name == kind).fields)
        assert from_parquet.height == from_json.height == ndjson.rows[kind]
        if kind == "business_events":
            json_data = [
                json.loads(line)["data"] for line in ndjson.files[kind].read_text().splitlines()
            ]
            assert [json.loads(d) for d in from_parquet["data"]] == json_data
            from_json, from_parquet = from_json.drop("data"), from_parquet.drop("data")
        for name, dtype in from_parquet.schema.items():
            if isinstance(dtype, pl.Datetime):
                assert str(dtype.time_zone) == "UTC"
                from_parquet = from_parquet.with_columns(
                    pl.col(name).dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
                )
        shared = [c for c in from_parquet.columns if c in from_json.columns]
        assert from_parquet.select(shared).equals(
            from_json.select(shared).cast(from_parquet.select(shared).schema)
        )


def test_bad_arguments_are_refused(tmp_path: Path):
    with pytest.raises(ValueError, match="not both"):
        generate(tmp_path, cases_per_day=10, target_events=100_000)
    with pytest.raises(ValueError, match="days must be at least 1"):
        generate(tmp_path, days=0)
    with pytest.raises(ValueError, match="file_format"):
        generate(tmp_path, days=1, cases_per_day=5, file_format="csv")  # type: ignore[arg-type]


def test_start_defaults_to_a_fixed_date(demo: DemoFiles):
    assert demo.summary.start == datetime(2026, 8, 1, tzinfo=UTC)
    first = min(parse_time(e["time"]) for e in demo.records["business_events"])
    assert first.date().isoformat() == "2026-08-01"


def test_progress_reports_days_and_the_rate(tmp_path: Path):
    messages: list[str] = []
    summary = generate(tmp_path, days=10, cases_per_day=20, progress=messages.append)
    assert messages[0].startswith("day 10/10: ")
    assert messages[-1].startswith(f"wrote {summary.total_rows:,} rows in ")
    assert "rows/s" in messages[-1]
