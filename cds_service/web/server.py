"""Production serving: gunicorn with threaded workers, the app built once and forked.

``cds-service serve`` runs this; ``cds-service serve --dev`` runs Flask's reloader instead.

The worker is gunicorn's ``gthread`` worker with one change (:class:`BufferingWorker`): a
request's header section and body are read by the worker's event loop, non-blocking, within
``CDS_REQUEST_READ_TIMEOUT``, and only a complete request is handed to a thread. A client that
drips its headers or body (slowloris) costs a socket and a small buffer, never a thread; one
too slow is answered 408 and closed; a body over ``CDS_MAX_BODY_BYTES`` is read and discarded
(up to four times the limit) and answered 413 before the connection is closed, so the client
reads the 413 instead of a broken pipe. Kept-alive connections wait in the same loop, at most
``keepalive`` seconds. (gunicorn's async workers would do the reading too, but they run the
application on greenlets, which the CPU-bound record reading, SQLite and the fetch pool do not
suit; waitress buffers requests the same way but is one process, without gunicorn's worker
management and the multiprocess metrics.)
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import gc
import os
import selectors
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import TConn, ThreadWorker

from cds_service.errors import Refused
from cds_service.ops.logs import gunicorn_logger_class
from cds_service.web.framing import (
    BufferedSocket,
    RequestFraming,
    refusal_bytes,
)

GC_GEN0_THRESHOLD = 50_000


def prepare_metrics_dir() -> str:
    """The directory of prometheus-client's multiprocess mode (set before it is imported).

    ``PROMETHEUS_MULTIPROC_DIR`` when set: created if missing, never emptied (it is not the
    service's to wipe; give each run an empty one). Otherwise a fresh temporary directory,
    removed when the process that made it (gunicorn's master) exits."""
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


class BufferingWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's gthread worker, reading each request in its event loop first (see above)."""

    read_timeout: float = 10.0
    max_body: int = 10 * 1024 * 1024

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reading: dict[Any, tuple[float, RequestFraming]] = {}

    def accept(self, listener: Any) -> None:
        try:
            client, address = listener.accept()
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                return
            raise
        self.nr_conns += 1
        conn = TConn(self.cfg, BufferedSocket(client), address, listener.getsockname())
        self._start_reading(conn)

    def on_client_socket_readable(self, conn: Any, client: Any) -> None:
        """A kept-alive connection has its next request coming: read it here too."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._start_reading(conn)

    def _start_reading(self, conn: Any) -> None:
        conn.sock.setblocking(False)
        framing = RequestFraming(self.max_body)
        self.reading[conn] = (time.monotonic() + self.read_timeout, framing)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn))

    def _on_readable(self, conn: Any, _fileobj: Any) -> None:
        _, framing = self.reading[conn]
        try:
            data = conn.sock.sock.recv(256 * 1024)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(conn)
            return
        if not data:
            self._drop(conn)
            return
        try:
            in_headers = framing.in_headers
            done = framing.feed(data)
            if in_headers and framing.expect_continue and framing.body_next:
                conn.sock.sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        except Refused as refusal:
            self._answer(conn, refusal.status, refusal.message)
            return
        except OSError:
            self._drop(conn)
            return
        if done:
            self.poller.unregister(conn.sock)
            del self.reading[conn]
            conn.sock.give(framing.spool)
            conn.data_ready = True  # gunicorn must not wait for the socket: it is all read
            self.enqueue_req(conn)

    def _answer(self, conn: Any, status: int, message: str) -> None:
        """Refuse from the event loop: the response, then close (the body is consumed)."""
        with contextlib.suppress(OSError):
            conn.sock.sock.send(refusal_bytes(status, message))
            conn.sock.sock.shutdown(socket.SHUT_WR)
        self.log.info("refused a request from the front: %s %s", status, message)
        self._drop(conn)

    def _drop(self, conn: Any) -> None:
        entry = self.reading.pop(conn, None)
        if entry is not None:
            entry[1].spool.close()
        with contextlib.suppress(OSError, KeyError, ValueError):
            self.poller.unregister(conn.sock)
        self.nr_conns -= 1
        conn.close()

    def murder_pending(self) -> None:
        super().murder_pending()
        now = time.monotonic()
        for conn, (deadline, _) in list(self.reading.items()):
            if deadline <= now:
                self._answer(
                    conn, 408, f"the request was not received within {self.read_timeout:g} s"
                )


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


def _when_ready(server: Any) -> None:
    """One JSON line once the sockets are bound: where, how many workers, which store."""
    import logging

    from cds_service.web.startup import safe_url

    app = getattr(server.app, "callable", None)
    extensions = getattr(app, "extensions", {})
    settings = extensions.get("cds_settings")
    authenticator = extensions.get("cds_authenticator")
    logging.getLogger("cds_service.server").info(
        "listening",
        extra={
            "address": [str(listener) for listener in server.LISTENERS],
            "workers": server.num_workers,
            "threads": server.cfg.threads,
            "store": safe_url(settings.database_url) if settings is not None else None,
            "authentication": "on" if getattr(authenticator, "issuers", None) else "off",
        },
    )


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
    from cds_service.settings import load_settings

    settings = load_settings()
    BufferingWorker.read_timeout = settings.request_read_timeout
    BufferingWorker.max_body = settings.max_body_bytes
    prepare_metrics_dir()
    Server(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "cds_service.web.server.BufferingWorker",
            "timeout": timeout,
            "graceful_timeout": 10,
            "keepalive": 5,
            "preload_app": True,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            "post_fork": _post_fork,
            "child_exit": _child_exit,
            "when_ready": _when_ready,
            "logger_class": gunicorn_logger_class(),  # gunicorn's own lines as JSON too
        },
        loader,
    ).run()
