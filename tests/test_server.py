"""The production server: cds-service serve runs gunicorn; /metrics aggregates its workers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from builders import FIXTURES

from cds_service import cli


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    store = tmp_path_factory.mktemp("server")
    env = {
        **os.environ,
        "CDS_DATABASE_URL": f"sqlite:///{store}/store.sqlite3",
        "PROMETHEUS_MULTIPROC_DIR": str(store / "metrics"),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cds_service.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            "2",
            "--threads",
            "2",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(process.stderr.read().decode()[-2000:]) from None
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_gunicorn_serves_hook_calls_and_aggregates_metrics(server: str) -> None:
    body = (FIXTURES / "scenarios" / "sandbox-imaging-screen.json").read_bytes()
    for _ in range(6):  # enough for both workers to answer some
        response = requests.post(
            f"{server}/cds-services/order-select",
            data=body,
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        assert response.status_code == 200
        assert response.json()["cards"][0]["indicator"] == "warning"
    text = requests.get(f"{server}/metrics", timeout=5).text
    assert 'cds_requests_total{service="order-select",status="200"} 6.0' in text


def test_serve_dev_runs_flasks_reloader(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr("flask.Flask.run", lambda self, **kwargs: seen.update(kwargs))
    monkeypatch.setattr("cds_service.startup.check_port", lambda host, port: None)
    assert cli.main(["serve", "--dev", "--port", "9999"]) == 0
    assert seen["use_reloader"] is True and seen["port"] == 9999


def test_serve_passes_workers_and_threads_to_gunicorn(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "m"))
    monkeypatch.setattr("cds_service.server.Server.run", lambda self: seen.update(self.options))
    monkeypatch.setattr("cds_service.startup.check_port", lambda host, port: None)
    assert cli.main(["serve", "--workers", "3", "--threads", "5"]) == 0
    assert (seen["workers"], seen["threads"]) == (3, 5)
    assert seen["worker_class"] == "cds_service.server.BufferingWorker"  # gthread, buffering
    assert seen["bind"] == "127.0.0.1:8080" and seen["preload_app"] is True
