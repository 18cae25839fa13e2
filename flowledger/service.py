"""``flowledger serve`` (the receiver) and ``flowledger up`` (receiver + builder + dashboard)."""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from flowledger.request_guard import (
    DEFAULT_BODY_IDLE_S,
    DEFAULT_BODY_TOTAL_S,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_INFLIGHT_REQUESTS,
)
from flowledger.settings import PROJECT_ROOT, DataDir, DataDirError, port_number

EXIT_OK, EXIT_FAILED = 0, 1
DEFAULT_PORT = 8080
UP_BUILD_EVERY_S = 300.0


def register(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser(
        "serve", help="receive CloudEvents, run records and OTLP traces over HTTP"
    )
    _add_receiver_options(serve)
    serve.add_argument(
        "--build-every",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="also run the dbt build in the background every SECONDS (default: never)",
    )
    serve.set_defaults(handler=_serve)

    up = commands.add_parser(
        "up", help="start the receiver, the background builder and the dashboard together"
    )
    _add_receiver_options(up)
    up.add_argument(
        "--build-every",
        type=float,
        default=UP_BUILD_EVERY_S,
        metavar="SECONDS",
        help=f"dbt build interval (default {UP_BUILD_EVERY_S:.0f})",
    )
    up.add_argument(
        "--dashboard-port", type=port_number, default=8501, help="dashboard port (8501)"
    )
    up.set_defaults(handler=_up)


def _add_receiver_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=port_number, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--tokens-file",
        type=Path,
        help="file of source=token lines (default: $FLOWLEDGER_TOKENS, source=token,…)",
    )
    parser.add_argument(
        "--hmac-file",
        type=Path,
        help="file of source=key lines: those sources must sign (default: $FLOWLEDGER_HMAC_KEYS)",
    )
    parser.add_argument(
        "--token-sources",
        type=Path,
        help="file of token_source=record source[, …] lines: the sources (source_system, a "
        "CloudEvent's source) each token may write; others are rejected "
        "(default: $FLOWLEDGER_TOKEN_SOURCES, entries separated by ;)",
    )
    parser.add_argument(
        "--hmac-tolerance", type=float, default=300.0, help="signature clock tolerance, s (300)"
    )
    parser.add_argument(
        "--insecure-no-auth",
        action="store_true",
        help="accept requests without a token (only for a trusted loopback)",
    )
    parser.add_argument(
        "--open-lineage-reads",
        action="store_true",
        help="answer the lineage API's GETs (/api/v1/...) without a bearer token, for Marquez's "
        "web UI, which sends none; its POSTs and every other route still need one. Anyone who "
        "can reach the port then reads the lineage graph (job SQL, dataset and field names)",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=DEFAULT_MAX_BODY_BYTES,
        help=f"413 above this ({DEFAULT_MAX_BODY_BYTES >> 20} MiB)",
    )
    parser.add_argument(
        "--max-records",
        type=int,
        default=10_000,
        help="413 when one request carries more records (events, runs, spans) than this (10,000)",
    )
    parser.add_argument(
        "--max-inflight",
        type=int,
        default=DEFAULT_MAX_INFLIGHT_REQUESTS,
        help="429 above this many requests in flight",
    )
    parser.add_argument(
        "--body-idle-timeout",
        type=float,
        default=DEFAULT_BODY_IDLE_S,
        help=f"408 when a body's next chunk takes longer, s ({DEFAULT_BODY_IDLE_S:.0f}); a "
        f"body takes at most {DEFAULT_BODY_TOTAL_S:.0f} s in all",
    )
    parser.add_argument(
        "--max-backlog",
        type=int,
        default=2_000_000,
        help="429 when this many records wait in the spool for the drainer (2,000,000)",
    )
    parser.add_argument(
        "--no-drain",
        action="store_true",
        help="keep records in the spool (drain later with a normal serve); for benchmarks",
    )
    parser.add_argument("--no-lineage", action="store_true", help="do not mount /api/v1/lineage")


def _config(args: argparse.Namespace, data_dir: DataDir):
    from ingest.server.app import ReceiverConfig
    from ingest.server.auth import (
        HMAC_KEYS_ENV,
        TOKEN_SOURCES_ENV,
        TOKENS_ENV,
        AuthConfigError,
        load_secrets,
        load_token_sources,
    )

    try:
        tokens = load_secrets(TOKENS_ENV, args.tokens_file)
        hmac_keys = load_secrets(HMAC_KEYS_ENV, args.hmac_file)
        token_sources = load_token_sources(TOKEN_SOURCES_ENV, args.token_sources, tokens)
    except AuthConfigError as error:
        raise SystemExit(f"flowledger serve: {error}") from None
    if not tokens and not args.insecure_no_auth:
        raise SystemExit(
            "flowledger serve: no bearer tokens configured. Set FLOWLEDGER_TOKENS=source=token "
            "(comma-separated) or pass --tokens-file FILE (one source=token per line); "
            "--insecure-no-auth accepts anonymous requests"
        )
    extra_routes = None
    if not args.no_lineage:
        from lineage.api import lineage_routes

        # built by the app with the receiver's authenticator and request guard: the same
        # tokens, limits and slots
        extra_routes = functools.partial(
            lineage_routes, data_dir, open_reads=args.open_lineage_reads
        )
    return ReceiverConfig(
        tokens=tokens,
        hmac_keys=hmac_keys,
        token_sources=token_sources,
        hmac_tolerance_s=args.hmac_tolerance,
        require_auth=not args.insecure_no_auth,
        max_body_bytes=args.max_body_bytes,
        max_records=args.max_records,
        max_inflight_requests=args.max_inflight,
        body_idle_s=args.body_idle_timeout,
        max_backlog_records=args.max_backlog,
        build_every_s=args.build_every or None,
        drain=not args.no_drain,
        extra_routes=extra_routes,
    )


class _ScrubbingFormatter(logging.Formatter):
    """Log lines (tracebacks included) pass the secret scrubber before they are written."""

    def format(self, record: logging.LogRecord) -> str:
        from ingest.scrub import mask_account_numbers, scrub_secrets

        return mask_account_numbers(scrub_secrets(super().format(record)))


def _configure_logging(data_dir: DataDir) -> Path:
    logs = data_dir.root / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    path = logs / "receiver.log"
    formatter = _ScrubbingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = [logging.FileHandler(path), logging.StreamHandler()]
    for handler in handlers:
        handler.setFormatter(formatter)
    for name in ("flowledger", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = handlers
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return path


def run_receiver(args: argparse.Namespace, data_dir: DataDir) -> int:
    data_dir.ensure()
    with _only_receiver(data_dir):
        return _run_receiver(args, data_dir)


@contextlib.contextmanager
def _only_receiver(data_dir: DataDir) -> Iterator[None]:
    """Hold the data directory's receiver lock while serving: a second receiver on the same
    spool sealed the first one's open segments as its own (recovery), the first one's writer
    then failed and every later request to it hung."""
    import fcntl

    spool = data_dir.root / "spool"
    spool.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(spool / ".receiver.lock", "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "another process"
            raise DataDirError(
                f"a receiver is already running on {data_dir.root} ({holder}): stop it, or "
                "give this one its own --data-dir"
            ) from None
        lock.truncate(0)
        lock.write(f"PID {os.getpid()}\n")
        lock.flush()
        yield


def _run_receiver(args: argparse.Namespace, data_dir: DataDir) -> int:
    import uvicorn

    from ingest.server.app import create_app

    config = _config(args, data_dir)
    log_path = _configure_logging(data_dir)
    app = create_app(data_dir, config)
    logging.getLogger("flowledger.receiver").info(
        "receiving on http://%s:%d (sources: %s; spool %s; log %s)",
        args.host,
        args.port,
        ", ".join(sorted(config.tokens)) or "anonymous",
        data_dir.root / "spool",
        log_path,
    )
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=args.host,
            port=args.port,
            loop="uvloop",
            http="httptools",
            access_log=False,
            log_config=None,
            timeout_graceful_shutdown=10,
        )
    )
    server.run()
    return EXIT_OK if server.started else EXIT_FAILED


def _serve(args: argparse.Namespace, data_dir: DataDir) -> int:
    return run_receiver(args, data_dir)


class _Stopped(Exception):
    """SIGTERM arrived (re-raised by uvicorn after its shutdown)."""


def _raise_stopped(signum: int, frame: object) -> None:
    raise _Stopped()


def _up(args: argparse.Namespace, data_dir: DataDir) -> int:
    """Receiver and builder in this process, the dashboard as a child; Ctrl-C stops all."""
    data_dir.ensure()
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(PROJECT_ROOT / "dashboards" / "streamlit_app.py"),
        "--server.port",
        str(args.dashboard_port),
        "--server.address",
        args.host,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    env = {**os.environ, "FLOWLEDGER_HOME": str(data_dir.root)}
    dashboard = subprocess.Popen(command, env=env, cwd=PROJECT_ROOT, start_new_session=True)
    print(
        f"flowledger up: receiver http://{args.host}:{args.port}, dashboard "
        f"http://{args.host}:{args.dashboard_port}, build every {args.build_every:.0f}s "
        "(Ctrl-C stops all)",
        flush=True,
    )
    # uvicorn re-raises the SIGTERM it caught once it has shut down: turn it into an exception
    # here so the dashboard is stopped too.
    signal.signal(signal.SIGTERM, _raise_stopped)
    try:
        code = run_receiver(args, data_dir)
    except _Stopped:
        code = EXIT_OK
    finally:
        if dashboard.poll() is None:
            dashboard.terminate()
            try:
                dashboard.wait(timeout=15)
            except subprocess.TimeoutExpired:
                dashboard.kill()
                dashboard.wait()
    return code
