"""Production serving: gunicorn with threaded workers, the app built once and forked.

``cds-service serve`` runs this; ``cds-service serve --dev`` runs Flask's reloader instead.
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

GC_GEN0_THRESHOLD = 50_000


def prepare_metrics_dir() -> str:
    """A fresh directory for prometheus-client's multiprocess mode (set before it is imported)."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="cds-metrics-")
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    return path


def _service() -> Any:
    from cds_service import create_app

    return create_app()


class Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any], loader: Callable[[], Any] = _service) -> None:
        self.options = options
        self.loader = loader
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        app = self.loader()
        # Everything loaded so far (the FHIR models alone are thousands of classes) lives as
        # long as the process: keep it out of the collector's way, so that collections in the
        # forked workers neither walk it nor copy its pages.
        gc.collect()
        gc.freeze()
        # A request decodes tens of thousands of objects that live until it ends; with the
        # default threshold (700) the collector walks them dozens of times per request.
        gc.set_threshold(GC_GEN0_THRESHOLD, 20, 20)
        return app


def _post_fork(server: Any, worker: Any) -> None:
    """Each worker opens its own database connections and runs its own SNOMED CT refresh
    thread (threads do not survive the fork)."""
    app = server.app.callable if hasattr(server.app, "callable") else None
    store = app.extensions.get("cds_store") if app is not None else None
    if store is not None:
        store.engine.dispose(close=False)
    terminology = app.extensions.get("cds_terminology") if app is not None else None
    if terminology is not None:
        terminology.start()


def _child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def serve(
    host: str,
    port: int,
    workers: int,
    threads: int,
    timeout: int,
    loader: Callable[[], Any] = _service,
) -> None:
    """Run ``loader()``'s WSGI app under gunicorn with the production settings."""
    prepare_metrics_dir()
    Server(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "timeout": timeout,
            "graceful_timeout": 10,
            "keepalive": 5,
            "preload_app": True,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            "post_fork": _post_fork,
            "child_exit": _child_exit,
        },
        loader,
    ).run()
