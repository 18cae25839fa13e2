"""``lineage export --format csv`` writes names a producer chose: a cell a spreadsheet would
read as a formula (``=``, ``+``, ``-``, ``@``, a tab, a carriage return first) gets a ``'`` in
front, as OWASP's CSV Injection page recommends; the JSON export keeps the names as sent."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from flowledger.cli import main
from flowledger.settings import DataDir
from lineage.export import spreadsheet_safe
from lineage.store import LineageStore

P = "https://example.com/inject"
HYPERLINK = '=HYPERLINK("http://evil.example","x")'
FIELD = "@SUM(1+1)*cmd|' /C calc'!A0"


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1+cmd", "'-1+cmd"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("orders", "orders"),
        ("a=b", "a=b"),
        ("", ""),
        (None, None),
        (True, True),
    ],
)
def test_a_cell_starting_as_a_formula_is_quoted(cell: object, written: object) -> None:
    assert spreadsheet_safe(cell) == written


def test_export_csv_neutralises_formulas_in_names(tmp_path: Path, capsys) -> None:
    data_dir = DataDir(tmp_path).ensure()
    event = {
        "eventTime": "2026-12-03T11:00:00Z",
        "producer": P,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
        "job": {"namespace": "inject", "name": "-2+3"},
        "inputs": [{"namespace": "inject", "name": "+src"}],
        "outputs": [
            {
                "namespace": "inject",
                "name": HYPERLINK,
                "facets": {
                    "columnLineage": {
                        "_producer": P,
                        "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
                        "fields": {
                            FIELD: {
                                "inputFields": [
                                    {
                                        "namespace": "inject",
                                        "name": "+src",
                                        "field": "\tx",
                                        "transformations": [
                                            {"type": "DIRECT", "subtype": "IDENTITY",
                                             "description": "=cmd()"}
                                        ],
                                    }
                                ]
                            }
                        },
                    }
                },
            }
        ],
    }  # fmt: skip
    LineageStore(data_dir).append([event])
    base = ["--data-dir", str(data_dir.root), "lineage", "export"]
    assert main([*base, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 1
    row = rows[0]
    assert (row["output_dataset"], row["output_field"]) == ("'" + HYPERLINK, "'" + FIELD)
    assert (row["input_dataset"], row["input_field"]) == ("'+src", "'\tx")
    assert (row["job_name"], row["description"]) == ("'-2+3", "'=cmd()")
    assert row["output_namespace"] == "inject"
    assert not any(value.startswith(("=", "+", "-", "@", "\t", "\r")) for value in row.values())
    assert main([*base, "--format", "json"]) == 0
    edge = json.loads(capsys.readouterr().out)["field_edges"][0]
    assert (edge["output_dataset"], edge["output_field"]) == (HYPERLINK, FIELD)
