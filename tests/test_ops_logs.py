"""Log lines for operations: discovery, each feedback POST, conflicting outcomes for one card."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from support.builders import load

from cds_service.ops.logs import JsonFormatter


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))

    def named(self, message: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line["message"] == message]


@pytest.fixture
def logs() -> Iterator[Collect]:
    handler = Collect()
    logger = logging.getLogger("cds_service")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def card_for(client: FlaskClient) -> dict[str, Any]:
    body = load("scenarios/sandbox-imaging-screen.json")
    body["hookInstance"] = str(uuid.uuid4())
    body["context"]["patientId"] = f"pat-{uuid.uuid4()}"
    response = client.post("/cds-services/order-select", json=body)
    assert response.status_code == 200
    return response.get_json()["cards"][0]


def test_discovery_writes_a_line(client: FlaskClient, logs: Collect) -> None:
    assert client.get("/cds-services").status_code == 200
    (line,) = logs.named("discovery")
    assert sorted(line["services"]) == ["order-select", "order-sign"]


def test_feedback_writes_counts_and_card_ids_never_comments(
    client: FlaskClient, logs: Collect
) -> None:
    card = card_for(client)
    entry = {
        "card": card["uuid"],
        "outcome": "overridden",
        "outcomeTimestamp": "2026-11-23T12:01:00Z",
        "overrideReason": {
            "reason": {"system": "urn:x", "code": "patient-preference", "display": "Preference"},
            "userComment": "SECRET-COMMENT about the patient",
        },
    }
    response = client.post("/cds-services/order-select/feedback", json={"feedback": [entry]})
    assert response.status_code == 200
    (line,) = logs.named("feedback")
    assert line["service"] == "order-select" and line["received"] == 1 and line["new"] == 1
    assert line["outcomes"] == {"overridden": 1} and line["cards"] == [card["uuid"]]
    assert "SECRET-COMMENT" not in json.dumps(logs.lines)
    assert not logs.named("conflicting feedback outcomes for one card")


def test_a_second_outcome_for_one_card_is_a_warning(client: FlaskClient, logs: Collect) -> None:
    card = card_for(client)
    accepted = {
        "card": card["uuid"],
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": (card.get("suggestions") or [{"uuid": "s"}])[0]["uuid"]}],
        "outcomeTimestamp": "2026-11-23T12:00:30Z",
    }
    overridden = {
        "card": card["uuid"],
        "outcome": "overridden",
        "outcomeTimestamp": "2026-11-23T12:01:00Z",
    }
    client.post("/cds-services/order-select/feedback", json={"feedback": [accepted]})
    assert not logs.named("conflicting feedback outcomes for one card")
    client.post("/cds-services/order-select/feedback", json={"feedback": [overridden]})
    (warning,) = logs.named("conflicting feedback outcomes for one card")
    assert warning["level"] == "warning" and warning["card"] == card["uuid"]
    assert warning["outcomes"] == ["accepted", "overridden"]
