"""The command line and the start-up path: one-line errors, help, version, logs, temp folders."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.builders import FIXTURES

from cds_service import __version__, cli
from cds_service.settings import default_database_url
from cds_service.web import server

SCENARIO = FIXTURES / "scenarios" / "sandbox-imaging-screen.json"


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 60
):
    return subprocess.run(
        [sys.executable, "-m", "cds_service.cli", *args],
        env={**os.environ, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("cds-service: ") and "Traceback" not in err
    return lines[0]


# --version and help


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        cli.main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"cds-service {__version__}"


def test_help_lists_every_command_without_rest_markup(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert "``" not in out
    for command in ("serve", "evaluate", "db", "report", "terminology"):
        assert f"    {command}" in out


@pytest.mark.parametrize(
    ("command", "setting"),
    [
        ("serve", "CDS_WORKERS"),
        ("serve", "CDS_TRUSTED_ISSUERS"),
        ("evaluate", "CDS_KNOWLEDGE_FILE"),
        ("db", "CDS_DATABASE_URL"),
        ("report", "CDS_DATABASE_URL"),
        ("terminology", "CDS_TERMINOLOGY_URL"),
    ],
)
def test_each_command_lists_the_settings_it_reads(
    command: str, setting: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        cli.main([command, "--help"])
    out = capsys.readouterr().out
    assert "settings read:" in out and setting in out and "``" not in out


# --now


def test_now_without_a_zone_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        cli.main(["evaluate", str(SCENARIO), "--now", "2026-11-23T12:00:00"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "has no zone" in err and "Traceback" not in err


def test_now_with_a_zone_works(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["evaluate", str(SCENARIO), "--now", "2026-11-23T12:00:00Z"]) == 0
    assert json.loads(capsys.readouterr().out)["cards"]


def test_now_that_is_no_time_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["evaluate", str(SCENARIO), "--now", "tomorrow"])
    assert "not an ISO 8601 time" in capsys.readouterr().err


@pytest.mark.slow
def test_evaluate_prints_no_server_warning() -> None:
    done = run_cli(
        "evaluate",
        str(SCENARIO),
        "--now",
        "2026-11-23T12:00:00+00:00",
        env={"CDS_TRUSTED_ISSUERS": ""},
    )
    assert done.returncode == 0, done.stderr
    assert "CDS_TRUSTED_ISSUERS" not in done.stderr and "authentication" not in done.stderr
    assert done.stderr.strip() == ""


# bad settings: one line naming the variable


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("CDS_WORKERS", "abc", "CDS_WORKERS: expected a whole number > 0, got 'abc'"),
        ("CDS_THREADS", "0", "CDS_THREADS: expected a whole number > 0"),
        (
            "CDS_LOG_LEVEL",
            "DEBUGX",
            "CDS_LOG_LEVEL: expected DEBUG, INFO, WARNING, ERROR or CRITICAL",
        ),
        ("CDS_TIMEZONE", "Mars/Olympus", "CDS_TIMEZONE: expected an IANA time zone name"),
        ("CDS_OUT_OF_SCOPE_CARDS", "maybe", "CDS_OUT_OF_SCOPE_CARDS: expected true or false"),
        ("CDS_TRUSTED_ISSUERS", "{not json", "CDS_TRUSTED_ISSUERS is not JSON"),
        ("CDS_TRUSTED_ISSUERS", '{"https://x": {"jwks": 3}}', "CDS_TRUSTED_ISSUERS: "),
        ("CDS_TRUSTED_ISSUERS", "@/nonexistent/issuers.json", "CDS_TRUSTED_ISSUERS file"),
    ],
)
@pytest.mark.parametrize("command", [["serve"], ["db", "upgrade"], ["evaluate", str(SCENARIO)]])
def test_a_bad_setting_is_one_line_naming_it(
    command: list[str],
    variable: str,
    value: str,
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("granian.Granian.serve", lambda self: pytest.fail("started"))
    monkeypatch.setenv(variable, value)
    assert cli.main(command) == 2
    line = one_line_error(capsys.readouterr().err)
    assert expected in line
    if "TRUSTED" in variable:
        assert "expected JSON" in line and "errors.pydantic.dev" not in line


def test_bad_workers_option_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["serve", "--workers", "0"]) == 2
    assert "--workers" in one_line_error(capsys.readouterr().err)


# the store


def test_a_postgresql_url_without_the_driver_says_which_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if the extra were not installed
    monkeypatch.setenv("CDS_DATABASE_URL", "postgresql+psycopg://cds:secret@127.0.0.1:1/cds")
    assert cli.main(["db", "upgrade"]) == 2
    line = one_line_error(capsys.readouterr().err)
    assert "CDS_DATABASE_URL" in line and "cds-service[postgres]" in line
    assert "secret" not in line


def test_an_unreachable_sqlite_store_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("CDS_DATABASE_URL", f"sqlite:///{tmp_path}/file/store.sqlite3")
    assert cli.main(["serve"]) == 2
    assert "CDS_DATABASE_URL: cannot reach the store" in one_line_error(capsys.readouterr().err)


def test_an_unreachable_postgresql_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("psycopg")
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("CDS_DATABASE_URL", f"postgresql+psycopg://cds:secret@127.0.0.1:{port}/x")
    assert cli.main(["db", "upgrade"]) == 2
    line = one_line_error(capsys.readouterr().err)
    assert "cannot reach the store" in line and "secret" not in line


def test_a_malformed_database_url_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CDS_DATABASE_URL", "not a url")
    assert cli.main(["db", "upgrade"]) == 2
    assert "CDS_DATABASE_URL" in one_line_error(capsys.readouterr().err)


def test_the_default_store_does_not_depend_on_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    here = default_database_url()
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert default_database_url() == here == f"sqlite:///{tmp_path}/data/cds-service/store.sqlite3"


@pytest.mark.slow
def test_report_from_another_folder_reads_the_same_store(tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "CDS_DATABASE_URL": ""}
    env_without_url = {k: v for k, v in {**os.environ, **env}.items() if k != "CDS_DATABASE_URL"}
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()

    def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cds_service.cli", *args],
            env=env_without_url,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )

    missing = run("report", cwd=first)
    assert missing.returncode == 2 and "no store at" in one_line_error(missing.stderr)
    assert not list(first.iterdir())  # no empty store created here
    assert run("db", "upgrade", cwd=first).returncode == 0
    done = run("report", cwd=second)
    assert done.returncode == 0, done.stderr
    assert "No hook calls recorded yet." in done.stdout
    assert (tmp_path / "data" / "cds-service" / "store.sqlite3").exists()
    assert not list(first.iterdir()) and not list(second.iterdir())


# the port


def test_a_port_in_use_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert cli.main(["serve", "--port", str(port)]) == 2
    line = one_line_error(capsys.readouterr().err)
    assert f"cannot listen on 127.0.0.1:{port}" in line and "in use" in line


# serving: the listening line, granian's lines, temporary folders


@pytest.mark.slow
def test_serve_says_where_it_listens_and_leaves_no_temporary_folder(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(
        TMPDIR=str(temp),
        CDS_DATABASE_URL=f"sqlite:///{tmp_path}/store.sqlite3",
        CDS_TRUSTED_ISSUERS="",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "cds_service.cli", "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 60
        assert process.stderr is not None
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            lines.append(line)
            if '"listening"' in line:
                break
        listening = [json.loads(line) for line in lines if '"listening"' in line]
        assert listening, "".join(lines)
        entry = listening[0]
        assert entry["address"] == [f"http://127.0.0.1:{port}"]
        assert (entry["workers"], entry["threads"]) == (1, 1)  # CDS_THREADS' default
        assert entry["store"] == f"sqlite:///{tmp_path}/store.sqlite3"
        assert entry["authentication"] == "off"
        assert list(temp.glob("cds-metrics-*"))  # made for this run ...
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    rest = ""
    if process.stderr is not None:
        with process.stderr:
            rest = process.stderr.read()
    for line in [*lines, *rest.splitlines()]:
        if line.strip():
            json.loads(line)  # every line, granian's included, is JSON
    assert not list(temp.glob("cds-metrics-*"))  # ... and removed on exit


def test_granians_lines_are_json(capfd: pytest.CaptureFixture[str]) -> None:
    from granian.log import LogLevels, configure_logging, logger

    from cds_service.web.server import log_config

    configure_logging(LogLevels.warning, log_config())
    logger.error("Unexpected exit from worker-1")
    entry = json.loads(capfd.readouterr().err.strip().splitlines()[-1])
    assert entry["level"] == "error" and entry["logger"] == "_granian"
    assert entry["message"] == "Unexpected exit from worker-1"


def test_a_given_metrics_folder_is_never_wiped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "keep.txt").write_text("not the service's")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    assert server.prepare_metrics_dir() == str(folder)
    assert (folder / "keep.txt").read_text() == "not the service's"


def test_a_missing_given_metrics_folder_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "new"))
    assert Path(server.prepare_metrics_dir()).is_dir()
