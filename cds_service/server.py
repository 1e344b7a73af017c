"""Production serving: gunicorn with threaded workers, the app built once and forked.

``cds-service serve`` runs this; ``cds-service serve --dev`` runs Flask's reloader instead.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

from gunicorn.app.base import BaseApplication


def prepare_metrics_dir() -> str:
    """A fresh directory for prometheus-client's multiprocess mode (set before it is imported)."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="cds-metrics-")
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    return path


class Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from cds_service import create_app

        return create_app()


def _post_fork(server: Any, worker: Any) -> None:
    """Each worker opens its own database connections."""
    app = server.app.callable if hasattr(server.app, "callable") else None
    store = app.extensions.get("cds_store") if app is not None else None
    if store is not None:
        store.engine.dispose(close=False)


def _child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def serve(host: str, port: int, workers: int, threads: int, timeout: int) -> None:
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
        }
    ).run()
