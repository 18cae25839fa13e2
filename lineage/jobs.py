"""Job names as producers send them, and the one name flowledger keeps per job.

dbt-ol names one model's job three ways: ``<db>.<schema>.<project>.<model>`` under
``dbt-ol run``, the same with ``.build.run`` under ``dbt-ol build``, and
``model.<project>.<model>`` with ``--consume-structured-logs`` (whose per-statement child jobs
are ``model.<project>.<model>.sql.<n>``). flowledger keeps the first (the name its own dbt
project's JobEvents use), so a model is one job and one flow whatever the mode.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

BUILD_SUFFIX = ".build.run"
#: dbt-ol's suffix under `dbt-ol build` for each kind of dbt node whose job writes a dataset
BUILD_SUFFIXES = {"MODEL": BUILD_SUFFIX, "SNAPSHOT": ".build.snapshot"}
JobKey = tuple[str, str]  # (namespace, name)
#: dbt-ol's per-statement child job under its model's job (``--consume-structured-logs``)
_STATEMENT_SUFFIX = re.compile(r"sql\.\d+")


def canonical_job_name(name: str, facets: dict[str, Any] | None) -> str:
    """The name flowledger keeps for the job ``name`` with job ``facets``: a dbt model's
    ``<db>.<schema>.<project>.<model>`` (from the ``dbt_node`` facet, else by dropping
    dbt-ol's ``.build.run``); any other job's name as sent."""
    facets = facets or {}
    node = facets.get("dbt_node")
    job_type = facets.get("jobType")
    kind_of_job = str(job_type.get("jobType")).upper() if isinstance(job_type, dict) else None
    if kind_of_job is not None and kind_of_job not in BUILD_SUFFIXES:
        return name  # `….build.test` carries its model's dbt_node, but is a job of its own
    if isinstance(node, dict):
        kind, _, rest = str(node.get("unique_id") or "").partition(".")
        if kind in ("model", "snapshot") and rest and node.get("database") and node.get("schema"):
            return f"{node['database']}.{node['schema']}.{rest}"
    suffix = BUILD_SUFFIXES.get(kind_of_job or "")
    if suffix and _is_dbt_job(facets) and name.endswith(suffix):
        return name.removesuffix(suffix)  # a snapshot's `….build.snapshot` as a model's
    return name


class JobNames:
    """The name kept for each job, learnt from events in whatever order they arrive: the one
    way the lineage graph, the Marquez reads and the flow runs name a job.

    The kept name may be learnt only after events named the job otherwise: dbt-ol's
    ``model.<project>.<model>`` names no database or schema, so only an event with the
    ``dbt_node`` facet gives the model's kept name, and a START or an older dbt-ol's events leave
    the facet out. Normalising from the name's shape alone cannot recover what it lacks, so the
    name as sent becomes an alias of the kept name when an event links them, and so do the
    names of the jobs named under it (its statement jobs, ``model.p.m.sql.1``). Where no event
    links them (the facet never arrives), the job keeps the name as sent."""

    def __init__(self) -> None:
        self.aliases: dict[JobKey, JobKey] = {}  # as sent -> as kept
        # a parent job as sent -> the jobs named under it before its kept name was known
        self._named_under: dict[JobKey, set[JobKey]] = defaultdict(set)

    def kept(self, key: JobKey) -> JobKey:
        """The kept (namespace, name) of a job named as a producer sent it, as known so far."""
        return self.aliases.get(key, key)

    def learn(self, job: dict[str, Any], run: Any) -> tuple[JobKey, list[tuple[JobKey, JobKey]]]:
        """The kept key of the job an event names (``job``, with ``run``'s parent facet), and
        the aliases the event taught, (as sent, as kept), each before those of the jobs named
        under it: whatever was kept under a name as sent belongs to its kept name now."""
        namespace, name = str(job.get("namespace") or ""), str(job["name"])
        kept = canonical_job_name(name, job.get("facets"))
        if kept == name:
            kept = self.kept((namespace, name))[1]
        parent = ((run.get("facets") or {}).get("parent")) if isinstance(run, dict) else None
        if kept == name and isinstance(parent, dict) and isinstance(parent.get("job"), dict):
            parent_key = (
                str(parent["job"].get("namespace") or namespace),
                str(parent["job"].get("name") or ""),
            )
            parent_kept = self.kept(parent_key)[1]
            kept = child_job_name(name, parent_key[1], parent_kept)
            if parent_kept == parent_key[1] and name.startswith(parent_key[1] + "."):
                self._named_under[parent_key].add((namespace, name))  # renamed with it later
        taught: list[tuple[JobKey, JobKey]] = []
        if kept != name:
            self._alias((namespace, name), (namespace, kept), taught)
        return (namespace, kept), taught

    def _alias(self, sent: JobKey, kept: JobKey, taught: list[tuple[JobKey, JobKey]]) -> None:
        if self.aliases.get(sent) == kept:
            return
        self.aliases[sent] = kept
        taught.append((sent, kept))
        for child in self._named_under.pop(sent, set()):
            self._alias(child, (child[0], child_job_name(child[1], sent[1], kept[1])), taught)


def child_job_name(name: str, parent_raw: str, parent_canonical: str) -> str:
    """A child job named under its parent's name as sent (``model.p.m.sql.1`` under
    ``model.p.m``) renamed under the parent's kept name (``db.s.p.m.sql.1``)."""
    if parent_raw != parent_canonical and name.startswith(parent_raw + "."):
        return parent_canonical + name[len(parent_raw) :]
    return name


def is_statement_job(name: str, parent: str | None) -> bool:
    """A dbt-ol statement job (``model.p.m.sql.1`` under ``model.p.m``): a step of its model's
    run. Other children named under their parent (Airflow's ``dag.task``, Spark's
    ``app.execute_…``) are runs of their own, with the parent as ``parent_run_id``."""
    return bool(
        parent
        and name.startswith(parent + ".")
        and _STATEMENT_SUFFIX.fullmatch(name[len(parent) + 1 :])
    )


def simple_name(name: str, parent: str | None) -> str:
    """Marquez's ``simpleName``: the job's name without its parent's name and the dot after it
    (OpenLineageDao: a child ``p.step`` of ``p`` is ``step``); otherwise the whole name."""
    if parent and name.startswith(parent + "."):
        return name[len(parent) + 1 :]
    return name


def flow_name(name: str, facets: dict[str, Any] | None) -> str:
    """The flow name of a job kept as ``name``: a dbt model's flow is named after the model
    (``bakery.main.bakery.stg_patrons`` → ``stg_patrons``); any other job keeps its whole name
    (``etl.daily_load`` is the flow, not ``daily_load``)."""
    if canonical_job_name(name, facets) != name or not _is_dbt_model(facets or {}):
        return name  # not a dbt model's job as kept
    node = (facets or {}).get("dbt_node")
    if isinstance(node, dict) and node.get("name"):
        return str(node["name"])  # a versioned model's unique_id ends in `.v2`, its name does not
    return name.rsplit(".", 1)[-1]


def _is_dbt_model(facets: dict[str, Any]) -> bool:
    job_type = facets.get("jobType")
    return _is_dbt_job(facets) and str(job_type.get("jobType")).upper() == "MODEL"


def _is_dbt_job(facets: dict[str, Any]) -> bool:
    job_type = facets.get("jobType")
    return isinstance(job_type, dict) and str(job_type.get("integration")).upper() == "DBT"
