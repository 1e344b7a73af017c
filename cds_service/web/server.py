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
import json
import os
import selectors
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from functools import partial
from typing import IO, Any

from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import TConn, ThreadWorker

from cds_service.errors import Refused
from cds_service.ops.logs import gunicorn_logger_class

GC_GEN0_THRESHOLD = 50_000
MAX_HEADER_BYTES = 64 * 1024
"""Largest header section (request line and fields) the front buffers; more is a 431."""
DISCARD_FACTOR = 4
"""A body over the limit is read and thrown away up to this many times the limit, so that the
client gets to read the 413; past that the connection is closed."""
SPOOL_IN_MEMORY = 1024 * 1024
"""A buffered request larger than this goes to a temporary file, not memory."""
THREAD_READ_TIMEOUT = 5.0
"""A worker thread that must read from the socket itself (a pipelined request) waits at most
this long for each read; the response's writes are bounded the same way."""


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


_REASONS = {
    400: "Bad Request",
    408: "Request Timeout",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
}
_ISSUES = {400: "structure", 408: "timeout", 413: "too-long", 431: "too-long"}


def refusal_bytes(status: int, message: str) -> bytes:
    """A complete HTTP/1.1 response with an OperationOutcome body, closing the connection."""
    body = json.dumps(
        {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": _ISSUES[status], "diagnostics": message}],
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status} {_REASONS[status]}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


_HEADERS, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILERS, _DONE = range(7)


class RequestFraming:
    """Where one HTTP/1.1 request ends, fed its bytes as they arrive (headers, then a body of
    ``Content-Length`` bytes or chunked). The bytes themselves go to ``spool``; a body over
    ``max_body`` is counted but not kept, and the request is then refused with a 413 once the
    body is over (or past the discard bound). Malformed framing is a 400: gunicorn's parser,
    which reads the request afterwards, decides everything else."""

    def __init__(self, max_body: int, max_header: int = MAX_HEADER_BYTES) -> None:
        self.max_body = max_body
        self.max_header = max_header
        self.state = _HEADERS
        self.line = bytearray()
        self.header_bytes = 0
        self.fields: list[bytes] = []
        self.remaining = 0
        self.body = 0
        self.too_large = False
        self.expect_continue = False
        self.spool: IO[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115 (lives with the request)
            max_size=SPOOL_IN_MEMORY
        )

    @property
    def done(self) -> bool:
        return self.state == _DONE

    def feed(self, data: bytes) -> bool:
        """Take the next bytes; True once the request is complete (raises :class:`Refused`)."""
        if not self.too_large:
            self.spool.write(data)
        i, n = 0, len(data)
        while i < n and self.state != _DONE:
            if self.state in (_LENGTH, _CHUNK_DATA):
                take = min(self.remaining, n - i)
                i += take
                self.remaining -= take
                if self.remaining == 0:
                    self.state = _DONE if self.state == _LENGTH else _CHUNK_END
                continue
            end = data.find(b"\n", i)
            if end < 0:
                self.line += data[i:]
                self._check_line()
                break
            self.line += data[i : end + 1]
            i = end + 1
            self._check_line()
            line, self.line = bytes(self.line).rstrip(b"\r\n"), bytearray()
            self._on_line(line)
        if self.state == _DONE and self.too_large:
            raise Refused(413, f"request body is larger than the limit of {self.max_body} bytes")
        return self.state == _DONE

    def _check_line(self) -> None:
        if self.state == _HEADERS and self.header_bytes + len(self.line) > self.max_header:
            raise Refused(431, f"the header section is larger than {self.max_header} bytes")
        if self.state != _HEADERS and len(self.line) > 4096:
            raise Refused(400, "a chunk-size line or trailer is too long")

    def _on_line(self, line: bytes) -> None:
        if self.state == _HEADERS:
            self.header_bytes += len(line) + 2
            if line:
                self.fields.append(line)
            elif self.fields:  # empty lines before the request line are ignored
                self._headers_done()
        elif self.state == _CHUNK_SIZE:
            size = line.split(b";", 1)[0].strip()
            if not size or len(size) > 16 or any(c not in b"0123456789abcdefABCDEF" for c in size):
                raise Refused(400, "malformed chunked body: invalid chunk size")
            self.remaining = int(size, 16)
            if self.remaining == 0:
                self.state = _TRAILERS
            else:
                self._add_body(self.remaining)
                self.state = _CHUNK_DATA
        elif self.state == _CHUNK_END:
            if line:
                raise Refused(400, "malformed chunked body: chunk data longer than its size")
            self.state = _CHUNK_SIZE
        elif self.state == _TRAILERS and not line:
            self.state = _DONE

    def _headers_done(self) -> None:
        lengths, codings = [], []
        for field in self.fields[1:]:
            name, _, value = field.partition(b":")
            key = name.strip().lower()
            if key == b"content-length":
                lengths.append(value.strip())
            elif key == b"transfer-encoding":
                codings += [c.strip().lower() for c in value.split(b",")]
            elif key == b"expect" and value.strip().lower() == b"100-continue":
                self.expect_continue = True
        if codings:
            if lengths or codings[-1] != b"chunked":
                raise Refused(400, "unsupported Transfer-Encoding or Content-Length with it")
            self.state = _CHUNK_SIZE
            return
        if len(set(lengths)) > 1 or any(not v.isdigit() or len(v) > 18 for v in lengths):
            raise Refused(400, "invalid Content-Length")
        self.remaining = int(lengths[0]) if lengths else 0
        self._add_body(self.remaining)
        self.state = _LENGTH if self.remaining else _DONE

    def _add_body(self, size: int) -> None:
        self.body += size
        if self.body > self.max_body and not self.too_large:
            self.too_large = True
            self.spool.close()
        if self.body > self.max_body * DISCARD_FACTOR:
            raise Refused(413, f"request body is larger than the limit of {self.max_body} bytes")


class BufferedSocket:
    """The client socket as gunicorn's parser sees it: the buffered request comes first."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._spool: IO[bytes] | None = None

    def give(self, spool: IO[bytes]) -> None:
        spool.seek(0)
        self._spool = spool

    def recv(self, size: int, flags: int = 0) -> bytes:
        if self._spool is not None:
            data = self._spool.read(size)
            if data:
                return data
            self._spool.close()
            self._spool = None
        return self.sock.recv(size, flags)

    def setblocking(self, flag: bool) -> None:
        # "blocking" in a worker thread means bounded: a stalled peer frees the thread
        if flag:
            self.sock.settimeout(THREAD_READ_TIMEOUT)
        else:
            self.sock.setblocking(False)

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None
        self.sock.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


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
            in_headers = framing.state == _HEADERS
            done = framing.feed(data)
            body_next = framing.state in (_LENGTH, _CHUNK_SIZE) and not framing.too_large
            if in_headers and framing.expect_continue and body_next:
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
