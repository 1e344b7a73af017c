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


BAD_SETTINGS = [
    ("CDS_TRUSTED_ISSUERS", "not json"),
    ("CDS_TRUSTED_ISSUERS", '{"https://ehr.example": {"jwks_url": 1}}'),
    ("CDS_LOG_LEVEL", "verbose"),
    ("CDS_DATABASE_URL", "sqlite:////proc/no/such/store.sqlite3"),
    ("CDS_DATABASE_URL", "nosuchdriver://host/db"),
]
COMMANDS = [["db", "upgrade"], ["report"], ["knowledge", "explain"]]


@pytest.mark.parametrize(
    ("command", "variable", "value"),
    [
        (command, variable, value)
        for command in COMMANDS
        for variable, value in BAD_SETTINGS
        # knowledge explain does not open the store
        if not (command[0] == "knowledge" and variable == "CDS_DATABASE_URL")
    ],
)
def test_a_start_up_error_is_one_line_and_status_2(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
    variable: str,
    value: str,
) -> None:
    monkeypatch.setenv(variable, value)
    assert main(command) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"cds-service: {variable}"), captured.err
    assert "Traceback" not in captured.err


def test_create_app_raises_start_up_errors_of_the_one_tree() -> None:
    from cds_service import create_app
    from cds_service.errors import ConfigurationError, ServiceError, StartupError

    with pytest.raises(ConfigurationError) as bad_issuers:
        create_app({"CDS_TRUSTED_ISSUERS": "not json"})
    with pytest.raises(StartupError, match="CDS_LOG_LEVEL: expected") as bad_level:
        create_app({"CDS_LOG_LEVEL": "verbose"})
    assert isinstance(bad_issuers.value, ServiceError) and isinstance(bad_level.value, ServiceError)


def test_evaluate_names_a_file_that_is_not_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hook: order-sign\n")
    assert main(["evaluate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        f"cds-service: {path} is not JSON (line 1 column 1: Expecting value): give a CDS Hooks "
        "request file"
    )


@pytest.mark.parametrize(
    ("command", "action"), [("knowledge", "explain"), ("db", "upgrade"), ("terminology", "refresh")]
)
def test_a_command_without_its_action_shows_its_help(
    command: str, action: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: cds-service {command}") and "required" not in err
    assert err.strip().endswith(f"say what to do: cds-service {command} {action}")
