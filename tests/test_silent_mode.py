"""CDS_MODE=silent: every call appraised and audited as live, answered with no card and no
systemAction; the report keeps the silent calls apart, with the cards they would have shown."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, inspect, select, text
from support.builders import load
from support.log_lines import LogLines, log_lines

from cds_service.cli import main
from cds_service.ops.store import Store
from cds_service.ops.tables import Appraised, HookCall
from cds_service.web.state import app_state


@pytest.fixture
def calls() -> Iterator[LogLines]:
    with log_lines("cds_service.calls") as lines:
        yield lines


def epic_ct(client: FlaskClient) -> tuple[dict[str, Any], Any]:
    body = load("epic/epic-order-select-ct.json")
    body["hookInstance"] = str(uuid.uuid4())
    return body, client.post("/cds-services/order-select", json=body)


def test_a_silent_call_answers_no_card_and_is_audited_as_live(
    make_client: Callable[..., FlaskClient], calls: LogLines
) -> None:
    live_client = make_client()
    _, live = epic_ct(live_client)
    assert live.get_json()["cards"] and live.get_json()["systemActions"]
    silent_client = make_client(CDS_MODE="silent")
    body, silent = epic_ct(silent_client)
    assert silent.status_code == 200 and silent.get_json() == {"cards": []}
    store = app_state(silent_client.application).store
    with store.database.sessions() as session:
        mode, indicator, rating = session.execute(
            select(HookCall.mode, Appraised.indicator, Appraised.rating)
            .join(Appraised, Appraised.call_id == HookCall.id)
            .where(HookCall.hook_instance == body["hookInstance"])
        ).one()
    assert (mode, indicator, rating) == ("silent", "warning", "usually-not-appropriate")
    assert [line.get("mode") for line in calls.lines] == [None, "silent"]
    assert calls.lines[1]["ratings"] == ["usually-not-appropriate"]


def test_the_report_shows_silent_calls_apart(
    make_client: Callable[..., FlaskClient], capsys: pytest.CaptureFixture[str]
) -> None:
    epic_ct(make_client(CDS_MODE="silent"))
    epic_ct(make_client(CDS_MODE="silent"))
    epic_ct(make_client())
    assert main(["report", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    (live,) = report["by_service_and_rating"]
    assert (live["calls"], live["cards"]) == (1, 1)
    assert report["silent"] == [
        {
            "service": "order-select",
            "indicator": "warning",
            "rating": "usually-not-appropriate",
            "calls": 2,
            "orders": 2,
            "cards": 2,
        }
    ]
    modes = {line["mode"]: line["calls"] for line in report["by_week"]}
    assert modes == {"live": 1, "silent": 2}
    assert "by_clinician" not in report
    assert main(["report"]) == 0
    table = capsys.readouterr().out
    assert "Silent calls" in table and "warning" in table.split("Silent calls", 1)[1]


def test_the_clinician_section_is_shown_only_when_asked(
    client: FlaskClient, capsys: pytest.CaptureFixture[str]
) -> None:
    epic_ct(client)
    main(["report"])
    assert "PractitionerRole/" not in capsys.readouterr().out
    main(["report", "--by-clinician", "--format", "csv"])
    rows = capsys.readouterr().out.splitlines()
    assert rows[0].startswith("section,service,rating")
    (clinician,) = [r for r in rows if r.startswith("by_clinician,")]
    assert "PractitionerRole/eYg3-1aBmlDq5kE7Kt1E6ZQ3" in clinician and ",live," in clinician
    main(["report", "--by-clinician"])
    assert "PractitionerRole/eYg3-1aBmlDq5kE7Kt1E6ZQ3" in capsys.readouterr().out


def test_a_store_made_before_silent_mode_gains_its_columns(tmp_path: object) -> None:
    """hook_calls as it was: the upgrade adds mode and user_id (nullable; the old rows are
    live), and a second upgrade is a no-op."""
    url = f"sqlite:///{tmp_path}/old.sqlite3"
    old = create_engine(url)
    with old.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE hook_calls (id INTEGER PRIMARY KEY, hook_instance VARCHAR(200), "
                "service VARCHAR(100), called_at DATETIME, patient_id VARCHAR(200))"
            )
        )
        connection.execute(
            text(
                "INSERT INTO hook_calls VALUES (1, 'h', 'order-select', '2026-11-23 12:00:00', 'p')"
            )
        )
    old.dispose()
    store = Store(url)
    store.upgrade()
    store.upgrade()
    columns = {c["name"]: c for c in inspect(store.engine).get_columns("hook_calls")}
    assert {"mode", "user_id"} <= set(columns)
    assert "200" in str(columns["user_id"]["type"])
    with store.database.sessions() as session:
        assert session.execute(select(HookCall.mode)).scalar_one() is None
    store.dispose()
