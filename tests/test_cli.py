"""The console script: evaluate a request file without a server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.builders import FIXTURES

from cds_service.cli import main

NOW = "2026-11-23T12:00:00+00:00"


def test_evaluate_prints_the_cards(capsys: pytest.CaptureFixture[str]) -> None:
    path = FIXTURES / "scenarios" / "sandbox-imaging-screen.json"
    assert main(["evaluate", str(path), "--now", NOW]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["cards"][0]["indicator"] == "warning"
    assert "Usually not appropriate" in body["cards"][0]["summary"]


def test_evaluate_reports_a_bad_request_as_an_operation_outcome(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "request.json"
    path.write_text(json.dumps({"hook": "order-sign", "hookInstance": "x"}))
    assert main(["evaluate", str(path)]) == 1
    assert json.loads(capsys.readouterr().out)["resourceType"] == "OperationOutcome"


def test_evaluate_refuses_unreadable_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["evaluate", str(tmp_path / "none.json")]) == 2
    (tmp_path / "x.json").write_text('{"hook": "patient-view"}')
    assert main(["evaluate", str(tmp_path / "x.json")]) == 2
    assert "order-select" in capsys.readouterr().err


def test_a_broken_knowledge_file_stops_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CDS_KNOWLEDGE_FILE", str(tmp_path / "missing.yaml"))
    path = FIXTURES / "scenarios" / "sandbox-imaging-screen.json"
    assert main(["evaluate", str(path)]) == 2
    assert "missing.yaml" in capsys.readouterr().err
