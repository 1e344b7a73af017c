"""Worker memory under callers who send what the service has never seen: ``cds-service serve``
(2 workers x 1 thread) takes order-select calls whose record holds a Condition with a coding
system it has never seen (``--system-bytes`` long) and a text of words it has never seen;
prints each worker's resident memory every ``--every`` calls. With the documented bounds
(docs/performance.md, "Memory a caller can grow") each worker stays flat: the caches are
bounded in bytes, and a worker past ``CDS_WORKER_MAX_RSS_MB`` is replaced.

    python benchmarks/worker_memory.py [--calls 2000] [--every 250] [--system-bytes 100000]
        [--max-rss-mb 1024] [--python /other/venv/bin/python]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
REQUEST = json.loads(
    (ROOT / "fhir_fixtures" / "scenarios" / "sandbox-imaging-screen.json").read_bytes()
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def workers(root: int) -> dict[int, float]:
    """The server's worker processes (its children) and their resident memory, MB."""
    found: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if int(fields.get("PPid", "0").strip()) == root and "VmRSS" in fields:
            found[int(entry.name)] = int(fields["VmRSS"].split()[0]) / 1024
    return found


def new_words(rng: random.Random, count: int) -> str:
    return " ".join(
        "".join(rng.choices(string.ascii_lowercase, k=rng.randint(6, 12))) for _ in range(count)
    )


def call_body(rng: random.Random, system_bytes: int) -> dict[str, Any]:
    body = json.loads(json.dumps(REQUEST))
    system = "http://example.org/codes/" + "".join(rng.choices(string.ascii_lowercase, k=16))
    system += "x" * max(0, system_bytes - len(system))
    code = "".join(rng.choices(string.digits, k=8))
    condition = {
        "resourceType": "Condition",
        "id": "c1",
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "code": {
            "coding": [{"system": system, "code": code, "display": new_words(rng, 4)}],
            # words the reader must judge (a red flag, denied) among words it never saw
            "text": f"{new_words(rng, 15)}; denies fever or weight loss; {new_words(rng, 15)}",
        },
        "subject": {"reference": "Patient/" + body["prefetch"]["patient"]["id"]},
    }
    body["prefetch"]["conditions"] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 1,
        "entry": [{"resource": condition}],
    }
    return body


def start(port: int, args: argparse.Namespace, folder: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CDS_DATABASE_URL": f"sqlite:///{folder}/store.sqlite3",
        "PROMETHEUS_MULTIPROC_DIR": f"{folder}/metrics",
        "CDS_LOG_LEVEL": "WARNING",
        "CDS_WORKER_MAX_RSS_MB": str(args.max_rss_mb),
    }
    code = "from cds_service import cli\nraise SystemExit(cli.main(%r))"
    command = ["serve", "--port", str(port), "--workers", "2", "--threads", "1"]
    process = subprocess.Popen(
        [args.python, "-c", code % command],
        env=env,
        cwd=folder,
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--every", type=int, default=250)
    parser.add_argument("--system-bytes", type=int, default=100_000)
    parser.add_argument("--max-rss-mb", type=int, default=1024)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    rng = random.Random(22)
    port = free_port()
    folder = tempfile.mkdtemp(prefix="cds-worker-memory-")
    process = start(port, args, folder)
    failed = 0
    print(f"calls  workers' resident memory (MB); CDS_WORKER_MAX_RSS_MB={args.max_rss_mb}")
    try:
        with requests.Session() as session:
            for n in range(1, args.calls + 1):
                response = session.post(
                    f"http://127.0.0.1:{port}/cds-services/order-select",
                    json=call_body(rng, args.system_bytes),
                    timeout=30,
                )
                failed += response.status_code != 200
                if n == 1 or n % args.every == 0:
                    sizes = sorted(workers(process.pid).values())
                    print(f"{n:>5}  " + "  ".join(f"{mb:7.1f}" for mb in sizes), flush=True)
    finally:
        process.terminate()
        process.wait(timeout=30)
    print(f"{failed} calls not answered 200")


if __name__ == "__main__":
    main()
