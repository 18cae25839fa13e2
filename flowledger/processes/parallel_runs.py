"""Parallel runs of one flow, read from the published marts (``flowledger kpi parallel-runs``).

The comparison is computed by the dbt marts ``fct_parallel_run_summary``,
``fct_parallel_run_fields`` and ``fct_parallel_run_comparison`` (docs/processes.md); this module
selects and shapes them, and checks a cutover gate (the highest mismatch rate allowed).
"""

from __future__ import annotations

from typing import Any

import duckdb

from flowledger.processes.kpis import _clean, _records

MISMATCHED_KEYS_LISTED = 50


class NoParallelRuns(LookupError):
    """The published marts hold no shadow run of this flow."""


def parallel_run_kpis(con: duckdb.DuckDBPyConnection, flow_id: str) -> dict[str, Any]:
    """Every version pair of ``flow_id`` run side by side, with fields and mismatched keys."""
    pairs = _records(
        con,
        """
        select baseline_version, candidate_version, keys_compared, keys_mismatched,
               mismatch_rate, keys_without_baseline_outputs, keys_without_candidate_outputs,
               first_candidate_run_at, last_candidate_run_at
        from fct_parallel_run_summary where flow_id = ?
        order by first_candidate_run_at, baseline_version, candidate_version
        """,
        [flow_id],
    )
    if not pairs:
        flows = [
            row[0]
            for row in con.execute(
                "select distinct flow_id from fct_parallel_run_summary order by 1"
            ).fetchall()
        ]
        known = ", ".join(flows) if flows else "none"
        raise NoParallelRuns(
            f"no parallel (shadow) runs of flow {flow_id!r} in the published marts; flows with "
            f"shadow runs: {known}. Runs in shadow mode carry execution_mode: shadow and the "
            "same business_key as the live run (docs/processes.md)."
        )
    for pair in pairs:
        versions = [flow_id, pair["baseline_version"], pair["candidate_version"]]
        fields = _records(
            con,
            """
            select field_name as field, keys_with_field, keys_differing, differing_share_of_keys
            from fct_parallel_run_fields
            where flow_id = ? and baseline_version = ? and candidate_version = ?
            order by keys_differing desc, field_name
            """,
            versions,
        )
        pair["differing_fields"] = {
            field["field"]: field["keys_differing"] for field in fields if field["keys_differing"]
        }
        pair["fields"] = fields
        pair["mismatched_keys"] = _records(
            con,
            f"""
            select business_key, differing_fields, baseline_run_key, candidate_run_key,
                   baseline_status, candidate_status
            from fct_parallel_run_comparison
            where flow_id = ? and baseline_version = ? and candidate_version = ? and is_mismatch
            order by candidate_started_at, business_key
            limit {MISMATCHED_KEYS_LISTED}
            """,
            versions,
        )
    return _clean({"flow_id": flow_id, "pairs": pairs})


def gate_failures(document: dict[str, Any], max_mismatch_rate: float) -> list[str]:
    """One message per version pair whose mismatch rate is above ``max_mismatch_rate``."""
    return [
        f"{document['flow_id']} {pair['baseline_version']} -> {pair['candidate_version']}: "
        f"mismatch rate {pair['mismatch_rate']:.4f} is above the allowed {max_mismatch_rate:.4f} "
        f"({pair['keys_mismatched']} of {pair['keys_compared']} keys)"
        for pair in document["pairs"]
        if pair["mismatch_rate"] is not None and pair["mismatch_rate"] > max_mismatch_rate
    ]


def to_table(document: dict[str, Any]) -> str:
    """A readable summary: per version pair the mismatch rate and the differing fields."""
    lines = [f"parallel runs of flow {document['flow_id']}"]
    for pair in document["pairs"]:
        lines += [
            "",
            f"  {pair['baseline_version']} (live) vs {pair['candidate_version']} (shadow), "
            f"{pair['first_candidate_run_at']} .. {pair['last_candidate_run_at']}",
            f"    {'keys compared':<32}{pair['keys_compared']:>10,}",
            f"    {'keys mismatched':<32}{pair['keys_mismatched']:>10,}",
            f"    {'mismatch rate':<32}{pair['mismatch_rate']:>10.2%}",
            f"    {'keys without live outputs':<32}{pair['keys_without_baseline_outputs']:>10,}",
            f"    {'keys without shadow outputs':<32}{pair['keys_without_candidate_outputs']:>10,}",
            "    field                           keys with   differing",
        ]
        for field in pair["fields"]:
            lines.append(
                f"    {field['field']:<32}{field['keys_with_field']:>9,}"
                f"{field['keys_differing']:>12,}"
            )
    return "\n".join(lines)
