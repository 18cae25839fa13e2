"""The raw sources of the dbt project declare exactly the columns ingest lands (the ODCS contracts
plus the ingest metadata). On Spark they are the schema of the landing Parquet tables
(macros/spark/register_landing_tables.sql), so a column missing here is a column Spark never
reads."""

from __future__ import annotations

import yaml
from scale_support import CONTRACT_TABLES, contract_columns

from flowledger.settings import PROJECT_ROOT

SOURCES = PROJECT_ROOT / "models" / "staging" / "flowledger" / "_flowledger__sources.yml"
SPARK_TYPES = {
    "VARCHAR": "varchar",
    "BIGINT": "bigint",
    "DOUBLE": "double",
    "BOOLEAN": "boolean",
    "TIMESTAMP": "timestamp",
}


def test_every_contract_column_is_a_source_column_of_the_same_type() -> None:
    tables = {
        table["name"]: {c["name"]: c.get("data_type") for c in table.get("columns", [])}
        for table in yaml.safe_load(SOURCES.read_text())["sources"][0]["tables"]
    }
    for table, contract in CONTRACT_TABLES.items():
        expected = {name: SPARK_TYPES[sql_type] for name, sql_type in contract_columns(contract)}
        assert tables[table] == expected, (
            f"{SOURCES.name}: raw.{table} differs from contracts/{contract}.odcs.yaml"
        )
