"""Hostile clients and failing servers, against real sockets: ``cds-service serve`` with slow
and oversized clients, and the FHIR client against a local server that never stops sending or
sends a byte at a time. Each test is bounded to a few seconds."""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from support.builders import (
    FIXTURES,
    NO_PRIOR_IMAGING,
    free_port,
    hook_request,
    order,
    running_server,
    server_env,
)

from cds_service import create_app

# ----------------------------------------------------------------- the production server

READ_TIMEOUT = 3


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    store = tmp_path_factory.mktemp("hostile")
    env = server_env(store, CDS_REQUEST_READ_TIMEOUT=str(READ_TIMEOUT), CDS_MAX_BODY_BYTES="200000")
    with running_server(env, port) as base:
        yield base


def address(base: str) -> tuple[str, int]:
    host, port = base.removeprefix("http://").split(":")
    return host, int(port)


def drip(base: str, parts: list[bytes], every: float, stop: threading.Event) -> socket.socket:
    """A client that sends ``parts`` one at a time, ``every`` seconds apart, until ``stop``."""
    sock = socket.create_connection(address(base))

    def run() -> None:
        for part in parts:
            if stop.wait(every):
                return
            try:
                sock.sendall(part)
            except OSError:
                return

    threading.Thread(target=run, daemon=True).start()
    return sock


SLOW_HEADERS = [b"GET /healthz HTTP/1.1\r\n"] + [b"X-Slow-%d: 1\r\n" % i for i in range(100)]
SLOW_BODY = [
    b"POST /cds-services/order-select HTTP/1.1\r\nHost: x\r\n"
    b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
] + [b"{"] * 999


@pytest.mark.slow
def test_slow_clients_do_not_starve_the_service(server: str) -> None:
    """Sixteen clients dripping a header line a second and four dripping a body took every
    thread of both workers: /healthz answered nothing while they dripped."""
    stop = threading.Event()
    socks = [drip(server, SLOW_HEADERS, 0.5, stop) for _ in range(16)]
    socks += [drip(server, SLOW_BODY, 0.5, stop) for _ in range(4)]
    try:
        time.sleep(1)
        body = (FIXTURES / "scenarios" / "sandbox-imaging-screen.json").read_bytes()
        for _ in range(4):
            started = time.monotonic()
            assert requests.get(f"{server}/healthz", timeout=2).status_code == 200
            answered = requests.post(
                f"{server}/cds-services/order-select",
                data=body,
                headers={"Content-Type": "application/json"},
                timeout=2,
            )
            assert answered.status_code == 200
            assert time.monotonic() - started < 1.5
    finally:
        stop.set()
        for sock in socks:
            sock.close()


@pytest.mark.slow
def test_a_client_too_slow_for_the_read_deadline_is_cut_off(server: str) -> None:
    """Headers too slow: granian closes the connection at the deadline. A body too slow: the
    front answers 408."""
    stop = threading.Event()
    headers = drip(server, SLOW_HEADERS, 0.2, stop)
    body = drip(server, SLOW_BODY, 0.2, stop)
    headers.settimeout(READ_TIMEOUT + 3)
    body.settimeout(READ_TIMEOUT + 3)
    started = time.monotonic()
    try:
        closed = headers.recv(4096)
        took = time.monotonic() - started
        answer = body.recv(4096)
    finally:
        stop.set()
        headers.close()
        body.close()
    assert closed in (b"", b"HTTP/1.1 408") or closed.startswith(b"HTTP/1.1 408")
    assert READ_TIMEOUT - 0.5 < took < READ_TIMEOUT + 2
    assert answer.startswith(b"HTTP/1.1 408")
    assert b'"resourceType": "OperationOutcome"' in answer


@pytest.mark.slow
def test_a_body_over_the_limit_is_a_413_the_client_reads(server: str) -> None:
    """The 413 was sent before the body was read and the connection closed under the client:
    requests reported a broken pipe."""
    response = requests.post(
        f"{server}/cds-services/order-select",
        data=b"{" + b" " * 600_000 + b"}",
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert response.status_code == 413
    assert response.json()["issue"][0]["code"] == "too-long"
    chunked = requests.post(
        f"{server}/cds-services/order-select",
        data=iter([b"{", b" " * 300_000, b"}"]),
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert chunked.status_code == 413


@pytest.mark.slow
def test_a_malformed_chunked_body_is_a_400(server: str) -> None:
    with socket.create_connection(address(server), timeout=5) as sock:
        sock.sendall(
            b"POST /cds-services/order-select HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"zz\r\n{}\r\n0\r\n\r\n"
        )
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"OperationOutcome" in answer


@pytest.mark.slow
def test_keep_alive_and_chunked_requests_still_work(server: str) -> None:
    with requests.Session() as session:
        for _ in range(3):
            assert session.get(f"{server}/healthz", timeout=2).json() == {"status": "ok"}
        chunked = session.post(
            f"{server}/cds-services/order-select",
            data=iter([b'{"hook": ', b'"order-select"}']),
            headers={"Content-Type": "application/json"},
            timeout=2,
        )
        assert chunked.status_code == 400  # read whole, then judged: hookInstance missing
        assert chunked.json()["resourceType"] == "OperationOutcome"


@pytest.mark.slow
def test_a_chunked_hook_call_is_read_whole(server: str) -> None:
    """A chunked body, read whole by the front, reaches the application (which is given its
    length, and no Transfer-Encoding)."""
    body = (FIXTURES / "scenarios" / "sandbox-imaging-screen.json").read_bytes()
    answered = requests.post(
        f"{server}/cds-services/order-select",
        data=iter([body[:100], body[100:]]),
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert answered.status_code == 200
    assert answered.json()["cards"][0]["indicator"] == "warning"


# ----------------------------------------------------------------- a hostile FHIR server


class FhirServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    sent = 0


class Hostile(http.server.BaseHTTPRequestHandler):
    server: FhirServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if "/drip-headers/" in self.path:
            self.drip_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        if "/good/" in self.path:
            body = json.dumps({"resourceType": "Bundle", "type": "searchset"}).encode()
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_header("Connection", "close")
        self.end_headers()
        started = time.monotonic()
        try:
            self.wfile.write(b'{"resourceType": "Bundle", "entry": [')
            while time.monotonic() - started < 8:
                if "/endless/" in self.path:
                    self.wfile.write(b" " * 65536)
                    self.server.sent += 65536
                else:  # a byte every 0.3 s: never a read timeout, never done
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.3)
        except OSError:
            pass

    def drip_headers(self) -> None:
        """The status line, then a byte of a header every 0.3 s: the headers never end."""
        started = time.monotonic()
        try:
            self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            while time.monotonic() - started < 8:
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.3)
        except OSError:
            pass


@pytest.fixture
def fhir() -> Iterator[FhirServer]:
    httpd = FhirServer(("127.0.0.1", 0), Hostile)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


def fhir_call(fhir: FhirServer, kind: str) -> dict[str, Any]:
    """An order-sign call whose conditions must be read from the local server's ``kind``."""
    prefetch = {
        "patient": {"resourceType": "Patient", "id": "p1", "birthDate": "1980-01-01"},
        "observations": None,
        **NO_PRIOR_IMAGING,
    }
    body = hook_request("order-sign", [order("ct-1", code="72125")], prefetch=prefetch)
    body["fhirServer"] = f"http://127.0.0.1:{fhir.server_address[1]}/fhir/{kind}"
    return body


def timed_post(client: Any, body: dict[str, Any], limit: float) -> tuple[Any, float]:
    """The call, run in a thread so that a fetch that never ends fails the test in time."""
    started = time.monotonic()
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(client.post, "/cds-services/order-sign", json=body)
        response = future.result(timeout=limit + 10)  # the server stops sending at 8 s
    return response, time.monotonic() - started


def test_an_endless_body_is_cut_at_the_byte_cap(fhir: FhirServer) -> None:
    """An endless answer grew a worker to 7.8 GB after the call had already answered 412."""
    client = create_app(
        {
            "CDS_FHIR_ALLOWLIST": f"http://127.0.0.1:{fhir.server_address[1]}/fhir",
            "CDS_FHIR_ANONYMOUS": True,
            "CDS_FHIR_DEADLINE": 5,
            "CDS_FHIR_MAX_BYTES": 2_000_000,
        }
    ).test_client()
    response, took = timed_post(client, fhir_call(fhir, "endless"), 5)
    assert response.status_code == 412
    assert "2000000 bytes" in response.get_json()["issue"][0]["diagnostics"]
    assert took < 4
    time.sleep(0.3)
    assert fhir.sent < 2_000_000 + 16 * 1024 * 1024  # what the socket buffers hold, no more


def test_an_endless_body_is_cut_at_the_deadline(fhir: FhirServer) -> None:
    client = create_app(
        {
            "CDS_FHIR_ALLOWLIST": f"http://127.0.0.1:{fhir.server_address[1]}/fhir",
            "CDS_FHIR_ANONYMOUS": True,
        }
    ).test_client()
    response, took = timed_post(client, fhir_call(fhir, "endless"), 0.8)
    assert response.status_code == 412
    assert took < 2


def test_a_fhir_server_dripping_its_headers_holds_no_fetch_thread_past_the_deadline(
    fhir: FhirServer,
) -> None:
    """The deadline shut only responses whose headers had arrived: a server dripping its
    header section held every fetch thread (32 in the attack), and calls for other patients,
    to a healthy server, got 412 meanwhile."""
    app = create_app(
        {
            "CDS_FHIR_ALLOWLIST": f"http://127.0.0.1:{fhir.server_address[1]}/fhir",
            "CDS_FHIR_ANONYMOUS": True,
            "CDS_FHIR_MAX_WORKERS": 2,
        }
    )
    with ThreadPoolExecutor(4) as pool:
        slow = list(
            pool.map(
                lambda _: timed_post(app.test_client(), fhir_call(fhir, "drip-headers"), 0.8),
                range(4),
            )
        )
    assert all(response.status_code == 412 and took < 2 for response, took in slow)
    healthy, took = timed_post(app.test_client(), fhir_call(fhir, "good"), 0.8)
    assert healthy.status_code == 200 and took < 2


def test_a_dripping_fhir_server_holds_no_fetch_thread_past_the_deadline(
    fhir: FhirServer,
) -> None:
    """Forty calls to a server sending a byte every 0.3 s took the whole fetch pool: every
    other patient's call got 412 until they ended."""
    app = create_app(
        {
            "CDS_FHIR_ALLOWLIST": f"http://127.0.0.1:{fhir.server_address[1]}/fhir",
            "CDS_FHIR_ANONYMOUS": True,
            "CDS_FHIR_MAX_WORKERS": 2,
        }
    )
    with ThreadPoolExecutor(4) as pool:
        slow = list(
            pool.map(
                lambda _: timed_post(app.test_client(), fhir_call(fhir, "drip"), 0.8), range(4)
            )
        )
    assert all(response.status_code == 412 and took < 2 for response, took in slow)
    response, took = timed_post(app.test_client(), fhir_call(fhir, "good"), 0.8)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert took < 1.5


# ----------------------------------------------------------------- framing, by the server


@pytest.mark.slow
@pytest.mark.parametrize(
    ("head", "statuses"),
    [
        (
            b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            {400},
        ),
        (b"POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", {400, 501}),
        (
            b"POST /cds-services/order-select HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: 900000\r\n\r\n",
            {413},
        ),
        # 0: closed without an answer (granian reads at most ~400 KB of header section)
        (
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nX: " + b"y" * 2_000_000 + b"\r\n\r\n",
            {431, 400, 0},
        ),
    ],
)
def test_the_server_refuses_what_it_cannot_frame(
    server: str, head: bytes, statuses: set[int]
) -> None:
    """What the front's own framing refused (web/framing.py, replaced by granian's parser)."""
    with socket.create_connection(address(server), timeout=5) as sock:
        with contextlib.suppress(OSError):
            sock.sendall(head)
        try:
            answer = sock.recv(4096)
        except ConnectionResetError:
            answer = b""
    status = int(answer.split(b" ", 2)[1]) if answer else 0
    assert status in statuses, answer[:200]
