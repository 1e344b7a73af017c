"""Load test: the service under granian, driven over HTTP by eight client processes (the
standard library's HTTP client, each on a kept-alive connection).

Starts ``cds-service serve`` (production settings) and, for comparison, the floor: the same
server settings running an endpoint that only decodes the same body (with orjson, as the
service does) and returns no cards. Each is driven for a fixed time at a fixed concurrency
with a realistic hook request (a patient with ~1,000 resources of a realistic record in the
prefetch: see bench_record.py). Prints throughput, p50/p95/p99 latency, errors, the responses
that closed their connection (a worker evening out the workers' connections), CPU per request,
and the server's memory (all its processes) at start, after warm-up and at the end.

    python benchmarks/load_test.py [--duration 60] [--concurrency 8] [--resources 1000]
        [--hook order-select] [--workers 2 --threads 1] [--clients threads]
"""

from __future__ import annotations

import argparse
import atexit
import concurrent.futures
import http.client
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import requests
from bench_record import request_body  # the sibling module: this script's folder is on the path

HERE = Path(__file__).resolve().parent
START_WITHIN = 180
"""Seconds a server may take to answer /healthz (about 10 s on a quiet machine, over 30 s on
a busy shared one)."""


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    closed: int = 0
    elapsed: float = 0.0
    client_cpu: float = 0.0
    """CPU seconds the clients spent (each its own thread's)."""
    per_client: list[int] = field(default_factory=list)
    """Calls each client completed: even when the workers serve their connections evenly."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def family(root: int) -> set[int]:
    """A process and all its descendants (from /proc)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [c for c, p in parents.items() if p == pid and c not in found]
        found.update(children)
        frontier.extend(children)
    return found


def cpu_seconds(root: int) -> float:
    """User and system CPU time of a process family so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in family(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return total / ticks


def rss_mb(root: int) -> float:
    """Resident memory of a process and all its descendants, in MB (from /proc)."""
    total = 0
    for pid in family(root):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def start(command: list[str], port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + START_WITHIN
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                return process
        except requests.RequestException:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"the server on port {port} did not start")


def drive(url: str, body: bytes, concurrency: int, seconds: float, clients: str) -> Run:
    """``concurrency`` clients, each on its own kept-alive connection, posting ``body`` for
    ``seconds``: in as many processes (``clients="processes"``, as that many EHR clients are), or
    as threads of this process (``"threads"``: their latencies include waiting for this
    process's GIL)."""
    stop_at = time.monotonic() + seconds  # CLOCK_MONOTONIC: the same in every process
    began = time.perf_counter()
    if clients == "processes":
        with multiprocessing.get_context("fork").Pool(concurrency) as pool:
            began = time.perf_counter()
            results = pool.starmap(one_client, [(url, body, stop_at)] * concurrency)
    else:
        with concurrent.futures.ThreadPoolExecutor(concurrency) as threads:
            futures = [threads.submit(one_client, url, body, stop_at) for _ in range(concurrency)]
            results = [future.result() for future in futures]
    run = Run(elapsed=time.perf_counter() - began)
    for latencies, errors, closed, cpu in results:
        run.latencies.extend(latencies)
        run.errors += errors
        run.closed += closed
        run.client_cpu += cpu
        run.per_client.append(len(latencies))
    return run


def one_client(url: str, body: bytes, stop_at: float) -> tuple[list[float], int, int, float]:
    """One client's latencies, errors, responses that closed its connection, and CPU time.

    The standard library's client on one kept-alive connection (opened again after a
    ``Connection: close``): the load generator shares the server's cores, and requests' own
    work per call (about 2 ms of CPU here) was taken from the server and added to each
    latency."""
    cpu = time.thread_time()
    latencies: list[float] = []
    errors = closed = 0
    parts = urllib.parse.urlsplit(url)
    headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    while time.monotonic() < stop_at:
        started = time.perf_counter()
        try:
            connection.request("POST", parts.path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            ok = response.status == 200
            closed += (response.getheader("Connection") or "").lower() == "close"
        except (OSError, http.client.HTTPException):
            ok = False
            connection.close()  # opened again by the next request
        if ok:
            latencies.append(time.perf_counter() - started)
        else:
            errors += 1
    connection.close()
    return latencies, errors, closed, time.thread_time() - cpu


def pct(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] * 1000


def measure(
    name: str,
    command: list[str],
    port: int,
    env: dict[str, str],
    body: bytes,
    args: argparse.Namespace,
) -> dict[str, float]:
    began = time.monotonic()
    process = start(command, port, env)
    progress(f"{name}: started in {time.monotonic() - began:.1f} s; {args.warmup:.0f} s warm-up")
    try:
        url = f"http://127.0.0.1:{port}/cds-services/{args.hook}"
        at_start = rss_mb(process.pid)
        drive(url, body, args.concurrency, args.warmup, args.clients)
        after_warmup = rss_mb(process.pid)
        progress(f"{name}: measuring for {args.duration:.0f} s")
        server_cpu = cpu_seconds(process.pid)
        run = drive(url, body, args.concurrency, args.duration, args.clients)
        progress(f"{name}: {len(run.latencies)} requests, {run.errors} errors")
        server_cpu = cpu_seconds(process.pid) - server_cpu
        at_end = rss_mb(process.pid)
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=20)
    if not run.latencies:
        raise SystemExit(f"{name}: no successful request ({run.errors} errors)")
    return {
        "requests": len(run.latencies),
        "throughput": len(run.latencies) / run.elapsed,
        "p50": pct(run.latencies, 0.50),
        "p95": pct(run.latencies, 0.95),
        "p99": pct(run.latencies, 0.99),
        "mean": statistics.fmean(run.latencies) * 1000,
        "errors": run.errors,
        "closed": run.closed,
        "server_cpu_ms": server_cpu / max(len(run.latencies), 1) * 1000,
        "client_cpu_ms": run.client_cpu / max(len(run.latencies), 1) * 1000,
        "client_calls_min": min(run.per_client),
        "client_calls_max": max(run.per_client),
        "rss_start": at_start,
        "rss_warm": after_warmup,
        "rss_end": at_end,
        "rss_growth_pct": (at_end - after_warmup) / after_warmup * 100,
    }


def progress(message: str) -> None:
    print(f"  ... {message}", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--resources", type=int, default=1000)
    parser.add_argument("--hook", default="order-sign", choices=["order-sign", "order-select"])
    parser.add_argument(
        "--clients",
        default="processes",
        choices=["processes", "threads"],
        help="each client a process (as EHR clients are), or a thread of this process (whose "
        "latencies then include waiting for its GIL). Before 2026-12-07 the clients were "
        "threads using requests",
    )
    parser.add_argument("--workers", type=int, default=None, help="CDS_WORKERS for both")
    parser.add_argument("--threads", type=int, default=None, help="CDS_THREADS for both")
    parser.add_argument(
        "--floor-decoder", default="orjson", choices=["orjson", "json"], help="the floor's"
    )
    parser.add_argument(
        "--database-url", default=None, help="the service's store (default: a new SQLite file)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="service and floor measured in turn this many times (a shared machine's load "
        "varies: the median ratio of the rounds is printed with each round's)",
    )
    parser.add_argument(
        "--service-command",
        default=None,
        help="run the service with another server, {port} for its port (the floor still runs "
        "under cds-service's own)",
    )
    args = parser.parse_args()
    body = request_body(args.resources, args.hook)
    store = tempfile.mkdtemp(prefix="cds-load-")
    atexit.register(shutil.rmtree, store, True)  # the store and metrics of this run only
    env = {
        **os.environ,
        "CDS_DATABASE_URL": args.database_url or f"sqlite:///{store}/store.sqlite3",
        "CDS_LOG_LEVEL": "WARNING",
        "PROMETHEUS_MULTIPROC_DIR": f"{store}/metrics",
        "CDS_FLOOR_DECODER": args.floor_decoder,
    }
    if args.workers:
        env["CDS_WORKERS"] = str(args.workers)
    if args.threads:
        env["CDS_THREADS"] = str(args.threads)
    from cds_service.settings import load_settings

    settings = load_settings({"workers": int(env["CDS_WORKERS"])} if "CDS_WORKERS" in env else None)
    threads = int(env.get("CDS_THREADS", settings.threads))
    print(
        f"{args.hook} with {args.resources} resources of a realistic record in the prefetch"
        f" ({len(body) / 1e6:.2f} MB), concurrency {args.concurrency} ({args.clients}),"
        f" {args.duration:.0f} s after"
        f" {args.warmup:.0f} s warm-up; {os.cpu_count()} cores; both servers"
        f" {settings.workers} workers x {threads} threads, production GC; floor decodes with"
        f" {args.floor_decoder}",
        flush=True,
    )
    rounds: list[tuple[dict[str, float], dict[str, float]]] = []
    for turn in range(args.rounds):
        if args.rounds > 1:
            progress(f"round {turn + 1} of {args.rounds}")
        service_port, floor_port = free_port(), free_port()
        command = [sys.executable, "-m", "cds_service.cli", "serve", "--port", str(service_port)]
        if args.service_command:  # a candidate server
            command = args.service_command.format(port=service_port).split()
        service = measure(
            "service",
            command,
            service_port,
            env,
            body,
            args,
        )
        floor = measure(
            "floor",
            [sys.executable, str(HERE / "floor_app.py"), "--port", str(floor_port)],
            floor_port,
            env,
            body,
            args,
        )
        rounds.append((service, floor))
        print_round(service, floor)
        sys.stdout.flush()
    if args.rounds > 1:
        ratios = [s["throughput"] / f["throughput"] for s, f in rounds]
        shown = ", ".join(f"{r:.2f}" for r in ratios)
        print(f"rounds' service / floor: {shown}; median {statistics.median(ratios):.2f}")
        p99s = ", ".join(f"{s['p99']:.0f}" for s, _ in rounds)
        print(f"rounds' service p99 (ms): {p99s}; errors {sum(s['errors'] for s, _ in rounds):.0f}")


def print_round(service: dict[str, float], floor: dict[str, float]) -> None:
    rows = [
        ("requests", "{:.0f}"),
        ("throughput", "{:.1f} req/s"),
        ("p50", "{:.1f} ms"),
        ("p95", "{:.1f} ms"),
        ("p99", "{:.1f} ms"),
        ("mean", "{:.1f} ms"),
        ("errors", "{:.0f}"),
        ("closed", "{:.0f} conns"),
        ("server_cpu_ms", "{:.2f} /req"),
        ("client_cpu_ms", "{:.2f} /req"),
        ("client_calls_min", "{:.0f}"),
        ("client_calls_max", "{:.0f}"),
        ("rss_start", "{:.1f} MB"),
        ("rss_warm", "{:.1f} MB"),
        ("rss_end", "{:.1f} MB"),
        ("rss_growth_pct", "{:+.1f} %"),
    ]
    print(f"{'':<16}{'service':>16}{'floor (decode only)':>22}")
    for key, fmt in rows:
        print(f"{key:<16}{fmt.format(service[key]):>16}{fmt.format(floor[key]):>22}")
    ratio = service["throughput"] / floor["throughput"]
    print(f"throughput: service / floor = {ratio:.2f}")


if __name__ == "__main__":
    main()
