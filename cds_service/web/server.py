"""Production serving: granian, its worker processes forked from one that built the app.

``cds-service serve`` runs this; ``cds-service serve --dev`` runs Flask's reloader instead.

granian (a maintained HTTP server written in Rust, on hyper) parses HTTP in each worker's event
loop: it reads every header section within ``CDS_REQUEST_READ_TIMEOUT``, and
:mod:`cds_service.web.front` reads every body before one of the worker's ``CDS_THREADS``
threads runs the Flask application (a2wsgi). A client that drips its headers or its body, or a
second request pipelined behind the first, costs a socket and what it sent, never a thread.
The workers are forked from the process that built the app (granian's default on Linux), and
each starts its own database connections and refresh thread (the ASGI lifespan). A worker that
serves more kept-alive connections than the others closes one after its response
(:mod:`cds_service.web.spread`): the kernel hands connections to workers unevenly.
"""

from __future__ import annotations

import atexit
import gc
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cds_service.settings import Settings

GC_GEN0_THRESHOLD = 50_000
GRACEFUL_TIMEOUT = 10
RSS_SAMPLE_SECONDS = 10
HEADER_READ_TIMEOUT_MAX = 60.0
"""granian reads a header section within at most 60 s (its own bound)."""

LOG = logging.getLogger("cds_service.server")


def prepare_metrics_dir() -> str:
    """The directory of prometheus-client's multiprocess mode (set before it is imported).

    ``PROMETHEUS_MULTIPROC_DIR`` when set: created if missing, never emptied (it is not the
    service's to wipe; give each run an empty one). Otherwise a fresh temporary directory,
    removed when the process that made it (granian's main process) exits."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        os.makedirs(given, exist_ok=True)
        return given
    path = tempfile.mkdtemp(prefix="cds-metrics-")
    atexit.register(_remove_if_mine, path, os.getpid())
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    return path


def _remove_if_mine(path: str, owner: int) -> None:
    """Only the process that made the folder removes it (forked workers run atexit too)."""
    if os.getpid() == owner:
        shutil.rmtree(path, ignore_errors=True)


def _service() -> Any:
    from cds_service.web.app import create_app

    return create_app()


_FRONT: Any = None
"""The ASGI application the workers serve, built before they are forked (see :func:`serve`)."""


def forked_front() -> Any:
    """granian's target (a factory): the application the parent process built."""
    return _FRONT


def build_front(app: Any, threads: int, settings: Settings, workers: int = 1) -> Any:
    """The Flask app behind a2wsgi (``threads`` threads) behind the body reader, which
    spreads kept-alive connections over the ``workers`` (:mod:`cds_service.web.spread`)."""
    from a2wsgi import WSGIMiddleware

    from cds_service.web.front import BufferedRequests
    from cds_service.web.spread import ConnectionSpread

    return BufferedRequests(
        WSGIMiddleware(app, workers=threads),
        max_body=settings.max_body_bytes,
        read_timeout=settings.request_read_timeout,
        on_start=lambda: _worker_started(app),
        spread=ConnectionSpread(workers),
    )


def _worker_started(app: Any) -> None:
    """Each worker opens its own database connections and runs its own SNOMED CT refresh
    thread (threads do not survive the fork)."""
    from cds_service.web.state import find_app_state

    state = find_app_state(app)
    if state is not None:
        state.store.engine.dispose(close=False)
        state.terminology.start()


def _load(loader: Callable[[], Any]) -> Any:
    app = loader()
    # Everything loaded so far (the FHIR models alone are thousands of classes) lives as long
    # as the process: keep it out of the collector's way, so that collections in the forked
    # workers neither walk it nor copy its pages.
    gc.collect()
    gc.freeze()
    # A request decodes tens of thousands of objects that live until it ends; with the default
    # threshold (700) the collector walks them dozens of times per request.
    gc.set_threshold(GC_GEN0_THRESHOLD, 20, 20)
    return app


def _listening(app: Any, address: str, workers: int, threads: int) -> Callable[[], None]:
    """One JSON line once the socket is bound: where, how many workers, which store."""
    from cds_service.web.startup import safe_url
    from cds_service.web.state import find_app_state

    def say() -> None:
        state = find_app_state(app)
        LOG.info(
            "listening",
            extra={
                "address": [address],
                "workers": workers,
                "threads": threads,
                "store": safe_url(state.settings.database_url) if state is not None else None,
                "authentication": "on" if state and state.authenticator.issuers else "off",
            },
        )

    return say


def log_config() -> dict[str, Any]:
    """granian's own lines (start, worker exits, errors) as JSON on stderr, like ours."""
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "json",
        "stream": "ext://sys.stderr",
    }
    return {
        "formatters": {"json": {"()": "cds_service.ops.logs.JsonFormatter"}},
        "handlers": {"console": handler, "access": handler},
        "loggers": {
            "_granian": {"handlers": ["console"], "level": "WARNING", "propagate": False},
            "granian.access": {"handlers": ["access"], "level": "WARNING", "propagate": False},
        },
    }


def server_options(host: str, port: int, workers: int, settings: Settings) -> dict[str, Any]:
    """granian's settings for ``cds-service serve``."""
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings

    header_timeout = min(settings.request_read_timeout, HEADER_READ_TIMEOUT_MAX)
    return {
        "target": "cds_service.web.server:forked_front",
        "factory": True,
        "address": host,
        "port": port,
        "interface": Interfaces.ASGI,
        "workers": workers,
        "websockets": False,
        # HTTP/1.1 only, as gunicorn served: HTTP/2's header blocks may reach 16 MB per
        # stream in granian, where an HTTP/1 header section stops at about 400 KB
        "http": HTTPModes.http1,
        "http1_settings": HTTP1Settings(header_read_timeout=max(1, int(header_timeout * 1000))),
        "respawn_failed_workers": True,
        # a worker past CDS_WORKER_MAX_RSS_MB is replaced: what no cache bounds (spaCy's
        # vocabulary) is bounded there
        "workers_max_rss": settings.worker_max_rss_mb or None,
        "rss_sample_interval": RSS_SAMPLE_SECONDS,
        # a worker that has not stopped this long after SIGTERM is killed (gunicorn's
        # graceful_timeout was the same); granian's worker can miss a SIGTERM that arrives
        # while it starts, and would then hold the shutdown for good
        "workers_kill_timeout": GRACEFUL_TIMEOUT,
        "log_level": "warning",
        "log_dictconfig": log_config(),
    }


def serve(
    host: str,
    port: int,
    workers: int,
    threads: int,
    timeout: int,
    loader: Callable[[], Any] = _service,
) -> None:
    """Run ``loader()``'s WSGI app under granian with the production settings."""
    global _FRONT
    from granian import Granian

    from cds_service.settings import load_settings

    settings = load_settings()
    prepare_metrics_dir()
    app = _load(loader)
    _FRONT = build_front(app, threads, settings, workers)
    options = server_options(host, port, workers, settings)
    server = Granian(**options)
    server.on_startup(_listening(app, f"http://{host}:{port}", workers, threads))
    server.serve()
