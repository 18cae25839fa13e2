"""dbt's saved parse of the project, shared by every data directory of this installation.

dbt keeps the project it parsed in ``<target>/partial_parse.msgpack`` and, on its next run,
parses again only the files that changed. A data directory's first build has no saved parse, so
dbt parses the whole project: about 5 s of a build on 2 cores, before any model runs. Every data
directory of one installation parses the same files, so the saved parse of one serves the others.

dbt decides itself whether a saved parse may be used: it compares the dbt version, the
``--vars``, the target, the profile's connection settings and ``dbt_project.yml`` with those it
was parsed with (any difference: a full parse), and re-parses each file whose contents changed.
For the profile to be the same in every data directory, dbt runs *in* the data directory and
the profile names the warehouse files relative to it (:func:`flowledger.build.dbt_command`).

The cache is keyed by what would otherwise make data directories with different configurations
overwrite each other's entry: the project's location, the target and the ``--vars``. Copies in
and out are atomic (a temporary file renamed), so concurrent builds never read a torn file. The
cache is an optimisation: a directory that cannot be written or read costs the full parse, not
the build.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from flowledger.settings import PROJECT_ROOT

#: The cache directory, unless set by this variable (``off`` turns the cache off)
CACHE_ENV = "FLOWLEDGER_DBT_PARSE_CACHE"
SAVED_PARSE = "partial_parse.msgpack"
#: Saved parses kept (~1.6 MB each); the least recently saved beyond these are removed
KEPT_PARSES = 32


def cache_dir() -> Path | None:
    """``$FLOWLEDGER_DBT_PARSE_CACHE``, else ``$XDG_CACHE_HOME/flowledger/dbt-parse``, else
    ``~/.cache/flowledger/dbt-parse``; None when turned off."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off", "0", "false") else Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "flowledger" / "dbt-parse"


def cache_key(args: Sequence[str]) -> str:
    """What distinguishes one saved parse from another: the project's location and the values of
    dbt's ``--target`` and ``--vars`` (the command, selectors and paths do not change a parse)."""
    parts = [str(PROJECT_ROOT)]
    for option in ("--target", "--vars"):
        if option in args and args.index(option) + 1 < len(args):
            parts.append(f"{option}={args[args.index(option) + 1]}")
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def seed(target: Path, args: Sequence[str]) -> bool:
    """Copy the cached parse into ``target`` when it has none of its own; whether it did."""
    cache = cache_dir()
    if cache is None or (target / SAVED_PARSE).exists():
        return False
    cached = cache / f"{cache_key(args)}.msgpack"
    if not cached.is_file():
        return False
    try:
        target.mkdir(parents=True, exist_ok=True)
        _copy_atomically(cached, target / SAVED_PARSE)
    except OSError:  # the cache cannot be read: dbt parses the whole project
        return False
    return True


def save(target: Path, args: Sequence[str]) -> bool:
    """Keep ``target``'s saved parse for the next data directory; whether it did."""
    cache = cache_dir()
    if cache is None or not (target / SAVED_PARSE).exists():
        return False
    try:
        cache.mkdir(parents=True, exist_ok=True)
        _copy_atomically(target / SAVED_PARSE, cache / f"{cache_key(args)}.msgpack")
        _remove_least_recent(cache)
    except OSError:  # a read-only or full cache directory costs the next full parse only
        return False
    return True


def _remove_least_recent(cache: Path) -> None:
    """Keep the :data:`KEPT_PARSES` most recently saved parses (one per configuration in use)."""
    saved = sorted(cache.glob("*.msgpack"), key=_saved_at, reverse=True)
    for stale in saved[KEPT_PARSES:]:
        stale.unlink(missing_ok=True)


def _saved_at(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:  # removed by a concurrent build
        return 0.0


def _copy_atomically(source: Path, destination: Path) -> None:
    handle, temporary = tempfile.mkstemp(prefix=f".{destination.name}.", dir=destination.parent)
    os.close(handle)
    try:
        shutil.copyfile(source, temporary)
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
