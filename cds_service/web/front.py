"""The service as the production server runs it: an ASGI application whose every request is
read whole, in the worker's event loop, before a thread runs the Flask application.

granian (``cds_service.web.server``) parses HTTP (framing, pipelining, chunked bodies and their
trailers, ``Expect``) and reads each header section within its own deadline; this module reads
the body: within ``CDS_REQUEST_READ_TIMEOUT`` (else 408) and ``CDS_MAX_BODY_BYTES`` (else 413,
after reading and dropping up to four times the limit so that the client reads the 413 rather
than a broken pipe), and within a byte budget per worker for all the bodies held at once (else
503): a client that drips its body costs a coroutine and what it sent, never a thread. Only
then does a2wsgi hand the request to one of the worker's ``CDS_THREADS`` threads. A response
of a worker that serves more connections than its share closes its connection
(:mod:`cds_service.web.spread`).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from cds_service.errors import Refused
from cds_service.web.spread import ConnectionSpread, WorkerConnections

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]
"""An ASGI application (loosely typed: a2wsgi's own types are narrower TypedDicts)."""

DISCARD_FACTOR = 4
"""A body over the limit is read and dropped up to this many times the limit, so that the
client gets to read the 413; past that the connection is closed."""
BUDGET_BODIES = 4
"""Bodies of the largest size a worker holds at once (read, or waiting for a thread), counted
in bytes: a request that would exceed ``BUDGET_BODIES * max_body`` is answered 503."""

_CLOSE = (b"connection", b"close")
_ISSUES = {400: "structure", 408: "timeout", 413: "too-long", 503: "transient"}


def refusal(status: int, message: str) -> tuple[Message, Message]:
    """The response start and body of a refusal: an OperationOutcome, closing the connection."""
    body = json.dumps(
        {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": _ISSUES[status], "diagnostics": message}],
        }
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    if status == 503:
        headers.append((b"retry-after", b"1"))
    start = {"type": "http.response.start", "status": status, "headers": headers}
    return start, {"type": "http.response.body", "body": body, "more_body": False}


class BodyBudget:
    """Bytes of request bodies a worker holds at once (one per worker: its event loop is the
    only writer, so no lock)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0

    def take(self, size: int) -> None:
        if self.held + size > self.limit:
            raise Refused(503, "the server is holding too many request bodies; retry shortly")
        self.held += size

    def give(self, size: int) -> None:
        self.held -= size


class BufferedRequests:
    """Read each HTTP request's body whole (see the module), then call ``app`` with it."""

    def __init__(
        self,
        app: ASGIApp,
        max_body: int,
        read_timeout: float,
        on_start: Callable[[], None] = lambda: None,
        spread: ConnectionSpread | None = None,
    ) -> None:
        self.app = app
        self.spread = spread
        self.connections: WorkerConnections | None = None
        self.max_body = max_body
        self.read_timeout = read_timeout
        self.on_start = on_start
        self.budget = BodyBudget(BUDGET_BODIES * max_body)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] != "http":
            return  # no websockets
        else:
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        """In each worker process, once: its own database connections and refresh thread."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self.spread is not None:
                    self.connections = self.spread.join(os.getpid())
                self.on_start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        held = [0]  # bytes taken from the budget for this request, given back when it ends
        try:
            try:
                async with asyncio.timeout(self.read_timeout):
                    body = await self._read(scope, receive, held)
            except TimeoutError:
                limit = f"{self.read_timeout:g}"
                raise Refused(408, f"the request was not received within {limit} s") from None
            await self.app(
                _with_length(scope, len(body)),
                _replay(body, receive),
                self._spreading(scope, send),
            )
        except Refused as refused:
            for message in refusal(refused.status, str(refused)):
                await send(message)
        finally:
            self.budget.give(held[0])

    def _spreading(self, scope: Scope, send: Send) -> Send:
        """``send``, closing the connection after the response if this worker holds more
        than its share (see :mod:`cds_service.web.spread`)."""
        connections = self.connections
        if connections is None:
            return send

        async def spreading(message: Message) -> None:
            if message["type"] == "http.response.start" and connections.should_close(
                scope.get("client"), time.monotonic()
            ):
                message = {**message, "headers": [*message.get("headers", []), _CLOSE]}
            await send(message)

        return spreading

    async def _read(self, scope: Scope, receive: Receive, held: list[int]) -> bytes:
        """The whole body (raises :class:`Refused`), counting in ``held`` what it keeps."""
        declared = _content_length(scope)
        too_large = Refused(413, f"request body is larger than the limit of {self.max_body} bytes")
        if declared is not None and declared > self.max_body * DISCARD_FACTOR:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                # hyper ends a body it cannot frame (a malformed chunk) as a disconnect
                raise Refused(400, "the request body ended before its framing did")
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body * DISCARD_FACTOR:
                raise too_large
            if size <= self.max_body:
                self.budget.take(len(chunk))
                held[0] += len(chunk)
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        if size > self.max_body:
            raise too_large
        return b"".join(chunks)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length" and value.strip().isdigit():
            return int(value)
    return None


def _with_length(scope: Scope, length: int) -> Scope:
    """The request as the application sees it: a body of known length (a chunked one had
    none), no longer in transfer."""
    headers = [
        (name, value)
        for name, value in scope.get("headers", [])
        if name.lower() not in (b"content-length", b"transfer-encoding")
    ]
    return {**scope, "headers": [*headers, (b"content-length", str(length).encode())]}


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body, all at once; then the client's own messages (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
