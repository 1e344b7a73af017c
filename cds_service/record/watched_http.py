"""Connections whose wait for a response's header section can be cut from another thread.

A read timeout bounds each read, not a header section that arrives a byte at a time; and a
``requests.Response`` exists only once its headers are in. So the FHIR client's deadline
(``CDS_FHIR_DEADLINE``) could not shut a socket still waiting for headers. Here each
connection, while it waits for a response's headers, registers its socket with the
:class:`Watch` of the thread it runs on (the FHIR client sets one per fetch); the watch's
:meth:`Watch.cut` shuts every such socket, so the thread blocked on it is freed at once.
Built on urllib3's public extension points: a pool's ``ConnectionCls`` and a pool manager's
``pool_classes_by_scheme``, mounted through requests' ``HTTPAdapter.init_poolmanager``.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_CURRENT = threading.local()


class DeadlinePassed(OSError):
    """The watch was cut before this connection started to wait."""


class Watch:
    """The sockets one FHIR client's fetches are waiting on, to be shut at its deadline."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self.cut_off = False

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            if self.cut_off:
                raise DeadlinePassed("the deadline for FHIR fetches passed")
            self._sockets.add(sock)

    def discard(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)

    def cut(self) -> None:
        """Shut every socket still waiting (from any thread); refuse any new wait."""
        with self._lock:
            self.cut_off = True
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def watching(watch: Watch) -> Any:
    """Within the block, this thread's connections wait for headers under ``watch``."""
    previous = getattr(_CURRENT, "watch", None)
    _CURRENT.watch = watch
    try:
        yield watch
    finally:
        _CURRENT.watch = previous


class _Watched:
    """Mixed into urllib3's connections: ``getresponse`` (the header wait) under the watch."""

    sock: socket.socket | None

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        watch: Watch | None = getattr(_CURRENT, "watch", None)
        sock = self.sock
        if watch is None or sock is None:
            return super().getresponse(*args, **kwargs)  # type: ignore[misc]
        watch.add(sock)
        try:
            return super().getresponse(*args, **kwargs)  # type: ignore[misc]
        finally:
            watch.discard(sock)


class WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class WatchedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = WatchedHTTPConnection


class WatchedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = WatchedHTTPSConnection


class WatchedAdapter(HTTPAdapter):
    """requests' adapter, its pools making :class:`Watched` connections."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": WatchedHTTPConnectionPool,
            "https": WatchedHTTPSConnectionPool,
        }
