"""The production server: cds-service serve runs granian; /metrics aggregates its workers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from support.builders import FIXTURES, free_port, running_server, server_env

from cds_service import cli


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    store = tmp_path_factory.mktemp("server")
    with running_server(server_env(store), port) as base:
        yield base


@pytest.mark.slow
def test_granian_serves_hook_calls_and_aggregates_metrics(server: str) -> None:
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
    monkeypatch.setattr("cds_service.web.startup.check_port", lambda host, port: None)
    assert cli.main(["serve", "--dev", "--port", "9999"]) == 0
    assert seen["use_reloader"] is True and seen["port"] == 9999


def test_serve_passes_workers_and_threads_to_granian(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from cds_service.web import server as production

    seen: dict[str, Any] = {}

    def serve(self: Any) -> None:
        front = production.forked_front()
        seen.update(
            workers=self.workers,
            bind=(self.bind_addr, self.bind_port),
            interface=self.interface,
            threads=front.app.executor._max_workers,
            max_body=front.max_body,
        )

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "m"))
    monkeypatch.setenv("CDS_MAX_BODY_BYTES", "1234")
    monkeypatch.setattr("granian.Granian.serve", serve)
    monkeypatch.setattr("cds_service.web.startup.check_port", lambda host, port: None)
    assert cli.main(["serve", "--workers", "3", "--threads", "5"]) == 0
    assert (seen["workers"], seen["threads"]) == (3, 5)
    assert seen["bind"] == ("127.0.0.1", 8080) and seen["interface"] == "asgi"
    assert seen["max_body"] == 1234  # the front reads each body whole, within the limit
