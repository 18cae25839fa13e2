"""Run the suite on every core without building any shared fixture twice.

`make test` runs pytest-xdist with ``--dist loadgroup``: the tests of one group run on one
worker, one after the other, and groups go to whichever worker is free. A group here is what
shares built state: the tests of one module (module-scoped fixtures, helpers' caches), joined with
every other module that uses the same session-scoped fixture of a ``conftest.py`` (a dbt build, a
generated demo, a running server). So each such fixture is built once per run, as without xdist.

Groups are handed out longest first (`make test` passes ``--no-loadscope-reorder`` so that xdist
keeps this order instead of its own by test count), so a long group does not start last while
the other workers sit idle. How long a group takes comes from tests/durations.json (seconds per
module of a measured run, written by scripts/test_durations.py); a module not in it counts a
second per test.

Each process that runs tests (each xdist worker) starts a dbt fork server first
(flowledger/dbt_forkserver.py): the suite's hundreds of dbt runs are forked from one process
that imported dbt once, instead of each importing it again (~2 s of CPU a run).
``FLOWLEDGER_TEST_FORKSERVER=0`` turns it off.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

import pytest

MEASURED_SECONDS = Path(__file__).with_name("durations.json")


class _Groups:
    """Union-find over module paths and conftest session fixtures."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, key: str) -> str:
        self.parent.setdefault(key, key)
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def join(self, a: str, b: str) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self.parent[max(root_a, root_b)] = min(root_a, root_b)


def _shared_session_fixtures(item: pytest.Item) -> list[str]:
    """The session-scoped fixtures of a ``conftest.py`` this test uses. Plugins' fixtures
    (``tmp_path_factory``…, no base id) are cheap; one defined in a test module is shared by that
    module alone, which is a group already."""
    module = item.nodeid.split("::")[0]
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return []
    return [
        f"{definition.baseid}::{name}"
        for name, definitions in info.name2fixturedefs.items()
        for definition in definitions
        if definition.scope == "session" and definition.baseid not in ("", module)
    ]


# before xdist's own hook, which turns the marker into the node id suffix it schedules by
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.pluginmanager.hasplugin("xdist"):
        return
    groups = _Groups()
    for item in items:
        module = item.nodeid.split("::")[0]
        for fixture in _shared_session_fixtures(item):
            groups.join(module, fixture)
    members: dict[str, list[pytest.Item]] = defaultdict(list)
    for item in items:
        members[groups.find(item.nodeid.split("::")[0])].append(item)
    for name, group_items in members.items():
        for item in group_items:
            item.add_marker(pytest.mark.xdist_group(name=name))
    # Longest groups first; within a group, the collection order.
    measured = json.loads(MEASURED_SECONDS.read_text()) if MEASURED_SECONDS.exists() else {}
    modules: dict[str, set[str]] = defaultdict(set)
    unmeasured: dict[str, int] = defaultdict(int)
    for name, group_items in members.items():
        for item in group_items:
            module = item.nodeid.split("::")[0]
            modules[name].add(module)
            unmeasured[name] += module not in measured
    # summed in a fixed order: a set's order follows the worker's hash seed, and float sums in
    # another order can differ in the last bit, so two workers sorted two close groups apart
    # and xdist refused the run ("Different tests were collected between gw1 and gw0")
    seconds = {
        name: sum(measured.get(module, 0.0) for module in sorted(modules[name])) + unmeasured[name]
        for name in members
    }
    order = sorted(members, key=lambda name: (-seconds[name], name))
    items[:] = [item for name in order for item in members[name]]


_FORK_SERVERS: list = []


def pytest_sessionstart(session: pytest.Session) -> None:
    """Start this process's dbt fork server, unless it runs no test (the xdist controller)."""
    from flowledger.dbt_forkserver import SOCKET_ENV, ForkServer

    config = session.config
    controller = not hasattr(config, "workerinput") and (
        config.getoption("numprocesses", default=None) not in (None, 0)
    )
    if controller or os.environ.get("FLOWLEDGER_TEST_FORKSERVER") == "0":
        return
    if os.environ.get(SOCKET_ENV):
        return
    server = ForkServer()
    socket_path = server.start()
    if socket_path is not None:  # else every build starts its own dbt, as without the server
        os.environ[SOCKET_ENV] = socket_path
        _FORK_SERVERS.append(server)


def pytest_sessionfinish(session: pytest.Session) -> None:
    from flowledger.dbt_forkserver import SOCKET_ENV

    for server in _FORK_SERVERS:
        server.stop()
        os.environ.pop(SOCKET_ENV, None)
    _FORK_SERVERS.clear()
