"""Issue 22's attacks on ``cds-service serve``, each against the real server over sockets and
bounded to a few seconds: a request pipelined behind another (dripping, or after a body), chunk
trailers and extensions without end, more connections than the open-files limit, and
``Expect: 100-continue`` from an HTTP/1.0 client. Each failed on the gunicorn front it replaced
(``web/framing.py``)."""

from __future__ import annotations

import json
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from support.builders import FIXTURES, free_port, running_server, server_env

BODY = (FIXTURES / "scenarios" / "sandbox-imaging-screen.json").read_bytes()
ORDER_SELECT = (
    b"POST /cds-services/order-select HTTP/1.1\r\nHost: x\r\n"
    b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(BODY)
)


pytestmark = pytest.mark.slow  # every test here starts the real server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    store = tmp_path_factory.mktemp("defects")
    env = server_env(store, CDS_REQUEST_READ_TIMEOUT="3", CDS_MAX_BODY_BYTES="200000")
    with running_server(env, port) as base:
        yield base


def address(base: str) -> tuple[str, int]:
    host, port = base.removeprefix("http://").split(":")
    return host, int(port)


def read_responses(sock: socket.socket, count: int, within: float) -> bytes:
    """What the server sends until ``count`` status lines arrived and it paused (or closed), or
    ``within`` s passed."""
    sock.settimeout(0.3)
    data = b""
    end = time.monotonic() + within
    while time.monotonic() < end:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            if data.count(b"HTTP/1.") >= count:
                break
            continue
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    return data


def test_a_pipelined_request_dripping_after_healthz_holds_no_worker(server: str) -> None:
    """Eight connections sent GET /healthz with the first line of a second request behind it,
    then dripped a header line every half second: the thread that read the second request
    waited 5 s per read with no overall deadline, and /healthz answered nothing."""
    stop = threading.Event()
    socks: list[socket.socket] = []

    def drip(sock: socket.socket) -> None:
        line = 0
        while not stop.wait(0.5):
            try:
                sock.sendall(b"X-Slow-%d: 1\r\n" % line)
            except OSError:
                return
            line += 1

    try:
        for _ in range(8):
            sock = socket.create_connection(address(server))
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\n")
            socks.append(sock)
            threading.Thread(target=drip, args=(sock,), daemon=True).start()
        time.sleep(1.5)
        for _ in range(4):
            assert requests.get(f"{server}/healthz", timeout=2).status_code == 200
    finally:
        stop.set()
        for sock in socks:
            sock.close()


def test_a_request_pipelined_after_a_body_is_answered(server: str) -> None:
    """The second request sat in the front's spool, which its poller could not see (a body
    over gunicorn's first read, 8 KB)."""
    body = BODY + b" " * 100_000
    head = ORDER_SELECT.replace(b"%d" % len(BODY), b"%d" % len(body))
    with socket.create_connection(address(server), timeout=5) as sock:
        sock.sendall(head + body + b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = read_responses(sock, 2, within=5)
    assert answer.count(b"HTTP/1.1 200") == 2, answer[:200]
    assert answer.rstrip().endswith(b'{"status":"ok"}')


def flood(server: str, head: bytes, piece: bytes, total: int, within: float) -> int:
    """Send ``head`` then ``piece`` over and over, up to ``total`` bytes: the bytes the server
    took before it closed the connection (or ``within`` s passed)."""
    sent = 0
    end = time.monotonic() + within
    with socket.create_connection(address(server)) as sock:
        sock.settimeout(1)
        try:
            sock.sendall(head)
            while sent < total and time.monotonic() < end:
                sock.sendall(piece)
                sent += len(piece)
        except OSError:
            pass
    return sent


CHUNKED = (
    b"POST /cds-services/order-select HTTP/1.1\r\nHost: x\r\n"
    b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
)


@pytest.mark.parametrize(
    ("head", "piece"),
    [
        pytest.param(
            CHUNKED + b"1\r\n{\r\n0\r\n", b"X-Trailer: " + b"t" * 1000 + b"\r\n", id="trailers"
        ),
        pytest.param(CHUNKED, b"1;" + b"e" * 4000 + b"\r\n \r\n", id="chunk-extensions"),
    ],
)
def test_trailers_and_chunk_extensions_are_not_kept_without_bound(
    server: str, head: bytes, piece: bytes
) -> None:
    """Trailer lines after a 1-byte body, or 4 KB extensions on 1-byte chunks, were spooled
    without counting against the body limit: 256 MiB per connection in about a second."""
    total = 64 * 1024 * 1024
    sent = flood(server, head, piece, total, within=4)
    assert sent < 16 * 1024 * 1024  # refused long before: only the sockets' buffers took more


def test_http_1_0_expect_100_continue_gets_no_interim_response(server: str) -> None:
    """RFC 9110: a server ignores Expect: 100-continue from an HTTP/1.0 client."""
    with socket.create_connection(address(server), timeout=5) as sock:
        sock.sendall(
            b"POST /cds-services/order-select HTTP/1.0\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nExpect: 100-continue\r\n"
            b"Content-Length: %d\r\n\r\n" % len(BODY)
        )
        early = read_responses(sock, 1, within=1)
        sock.sendall(BODY)
        answer = early + read_responses(sock, 1, within=5)
    assert b" 100 " not in answer.split(b"\r\n", 1)[0]
    assert answer.startswith(b"HTTP/1.1 200") or answer.startswith(b"HTTP/1.0 200"), answer[:100]


# ----------------------------------------------------------------- the open-files limit

OPEN_FILES = 256


def _low_file_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES, OPEN_FILES))


@pytest.fixture()
def starved_server(tmp_path: Path) -> Iterator[str]:
    """One worker under an open-files limit of 256 (systemd's default is 1,024)."""
    port = free_port()
    env = server_env(tmp_path, CDS_REQUEST_READ_TIMEOUT="5")
    command = [sys.executable, "-m", "cds_service.cli", "serve", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--workers", "1", "--threads", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_low_file_limit,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                time.sleep(0.2)
        yield base
    finally:
        import os
        import signal

        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
        if process.stderr is not None:
            process.stderr.close()


def test_more_connections_than_open_files_lose_no_request(starved_server: str) -> None:
    """Past the open-files limit accept failed with EMFILE and the worker exited, losing the
    request it was reading."""
    with socket.create_connection(address(starved_server), timeout=10) as in_flight:
        in_flight.sendall(ORDER_SELECT + BODY[:100])
        time.sleep(0.3)
        crowd = []
        try:
            for _ in range(OPEN_FILES + 64):
                crowd.append(socket.create_connection(address(starved_server), timeout=2))
            time.sleep(1)
        finally:
            for sock in crowd:
                sock.close()
        in_flight.sendall(BODY[100:])
        answer = read_responses(in_flight, 1, within=8)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["cards"]
    assert requests.get(f"{starved_server}/healthz", timeout=5).status_code == 200
