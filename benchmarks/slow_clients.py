"""Slow-client check: a normal order-select call's latency, alone, while 64 clients drip
their request headers (one line a second), and while 8 clients send ``GET /healthz`` with a
second request pipelined behind it whose header lines they then drip, against
``cds-service serve``.

    python benchmarks/slow_clients.py [--clients 64] [--pipelined 8] [--duration 20]
        [--python /other/venv/bin/python] [--command "python -m other.server --port {port}"]

``--python`` runs another installation's ``cds-service serve`` (an older version, for a
before/after); ``--command`` any other server (a candidate), ``{port}`` replaced by the port.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BODY = (ROOT / "fhir_fixtures" / "scenarios" / "sandbox-imaging-screen.json").read_bytes()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(port: int, python: str, command: str | None) -> subprocess.Popen[bytes]:
    folder = tempfile.mkdtemp(prefix="cds-slow-clients-")
    env = {
        **os.environ,
        "CDS_DATABASE_URL": f"sqlite:///{folder}/store.sqlite3",
        "PROMETHEUS_MULTIPROC_DIR": f"{folder}/metrics",
    }
    code = "from cds_service import cli\nraise SystemExit(cli.main(['serve', '--port', '%d']))"
    argv = command.format(port=port).split() if command else [python, "-c", code % port]
    process = subprocess.Popen(
        argv,
        env=env,
        cwd=folder,  # not this checkout: --python's own installation is what runs
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                return process
        except requests.RequestException:
            time.sleep(0.3)
    process.terminate()
    raise SystemExit("the service did not start")


def calls(port: int, seconds: float) -> tuple[list[float], int]:
    """Sequential order-select calls for ``seconds``: latencies (ms) and failures."""
    latencies: list[float] = []
    failures = 0
    end = time.monotonic() + seconds
    with requests.Session() as session:
        while time.monotonic() < end:
            started = time.perf_counter()
            try:
                response = session.post(
                    f"http://127.0.0.1:{port}/cds-services/order-select",
                    data=BODY,
                    headers={"Content-Type": "application/json"},
                    timeout=5,
                )
                ok = response.status_code == 200
            except requests.RequestException:
                ok = False
            if ok:
                latencies.append((time.perf_counter() - started) * 1000)
            else:
                failures += 1
    return latencies, failures


def drippers(port: int, clients: int, stop: threading.Event) -> list[threading.Thread]:
    def drip() -> None:
        try:
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(b"GET /healthz HTTP/1.1\r\n")
            line = 0
            while not stop.wait(1.0):
                sock.sendall(b"X-Slow-%d: 1\r\n" % line)
                line += 1
        except OSError:
            return  # refused (408) or reset: the next loop of the benchmark opens no new one

    threads = [threading.Thread(target=drip, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    return threads


def pipelined(port: int, clients: int, stop: threading.Event) -> list[threading.Thread]:
    """Clients whose second, pipelined request drips a header line a second."""

    def drip() -> None:
        try:
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\n")
            line = 0
            while not stop.wait(1.0):
                sock.sendall(b"X-Slow-%d: 1\r\n" % line)
                line += 1
        except OSError:
            return

    threads = [threading.Thread(target=drip, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    return threads


def summary(label: str, latencies: list[float], failures: int) -> str:
    if not latencies:
        return f"{label:<28} no call answered, {failures} failed"
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return (
        f"{label:<28} {len(latencies):>5} calls  median {statistics.median(latencies):7.1f} ms"
        f"  p95 {p95:7.1f} ms  max {ordered[-1]:7.1f} ms  failed {failures}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--pipelined", type=int, default=8)
    parser.add_argument("--python", default=sys.executable, help="whose cds-service to run")
    parser.add_argument("--command", default=None, help="another server, {port} for its port")
    args = parser.parse_args()
    port = free_port()
    process = start(port, args.python, args.command)
    try:
        calls(port, 2)  # warm-up
        alone = calls(port, args.duration)
        stop = threading.Event()
        drippers(port, args.clients, stop)
        time.sleep(1)
        during = calls(port, args.duration)
        stop.set()
        time.sleep(1.5)
        stop = threading.Event()
        pipelined(port, args.pipelined, stop)
        time.sleep(1)
        behind = calls(port, args.duration)
        stop.set()
    finally:
        process.terminate()
        process.wait(timeout=30)
    print(f"server: {args.command or args.python + ' -m cds_service.cli serve'}")
    print(summary("alone", *alone))
    print(summary(f"with {args.clients} slow clients", *during))
    print(summary(f"with {args.pipelined} pipelined drips", *behind))


if __name__ == "__main__":
    main()
