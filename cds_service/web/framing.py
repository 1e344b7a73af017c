"""Where an HTTP/1.1 request ends, read without a thread: :class:`RequestFraming` takes the
bytes as they arrive (the header section, then a body of ``Content-Length`` bytes or chunked)
and spools them; :class:`BufferedSocket` hands the spooled request to gunicorn's parser; what
cannot be framed is refused (:func:`refusal_bytes`) before any worker thread sees it."""

from __future__ import annotations

import json
import socket
import tempfile
from typing import IO, Any

from cds_service.errors import Refused

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

    @property
    def in_headers(self) -> bool:
        """Still reading the header section."""
        return self.state == _HEADERS

    @property
    def body_next(self) -> bool:
        """The header section is read and a body within the limit follows."""
        return self.state in (_LENGTH, _CHUNK_SIZE) and not self.too_large

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
