"""The relevance pass never drops what the rules would read (issue 20).

The pass (cds_service/record/selection.py) keeps, of a record's Conditions and Observations,
only those a rule can read. Were it to drop one the rules would read as an exclusion, the
service would tell a patient outside the variant "Usually not appropriate". Here every hook
request of the fixtures (the scenarios, the attack cases and the whole charts) is answered
twice: as the service answers it, and with the pass keeping every Condition and Observation
(the rules then read the whole record). Both answers must be the same, card for card and word
for word.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from support.clock import NOW

from cds_service import create_app
from cds_service.clinical.knowledge_loader import load_knowledge
from cds_service.record import observation_filter, relevance

FIXTURES = Path(__file__).resolve().parent.parent / "fhir_fixtures"
REQUESTS = sorted(
    path
    for folder in ("scenarios", "attack-cases", "charts")
    for path in (FIXTURES / folder).glob("*.json")
    if "prefetch" in json.loads(path.read_text(encoding="utf-8"))
)


@pytest.fixture(scope="module")
def client() -> FlaskClient:
    return create_app({"TESTING": True}, clock=lambda: NOW).test_client()


def without_ids(value: Any) -> Any:
    """The response without its random uuids."""
    if isinstance(value, dict):
        return {k: without_ids(v) for k, v in value.items() if k != "uuid"}
    if isinstance(value, list):
        return [without_ids(v) for v in value]
    return value


def answer(client: FlaskClient, request: dict[str, Any]) -> Any:
    response = client.post(f"/cds-services/{request['hook']}", json=request)
    return response.status_code, without_ids(response.get_json())


def keep_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pass keeps every Condition and Observation: the rules read the whole record."""
    monkeypatch.setattr(relevance.Relevance, "condition", lambda self, resource: True)
    monkeypatch.setattr(observation_filter.ObservationFilter, "keeps", lambda self, resource: True)


def test_there_are_requests_with_records_to_compare() -> None:
    assert len(REQUESTS) >= 250
    assert any("charts" in path.parts for path in REQUESTS), "the whole charts are compared too"


def test_keeping_everything_does_keep_what_the_pass_drops(monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison can fail: the helper keeps a reading the pass drops (a fever outside
    every window)."""
    old_fever = FIXTURES / "scenarios" / "obs-temp-local-code-fever-old.json"
    request = json.loads(old_fever.read_text(encoding="utf-8"))
    before = observation_filter.ObservationFilter(relevance.Relevance(load_knowledge()), NOW)
    reading = request["prefetch"]["observations"]["entry"][0]["resource"]
    assert before.keeps(reading) is False  # 40 days old: outside the fever window
    keep_everything(monkeypatch)
    assert before.keeps(reading) is True


@pytest.mark.parametrize("path", REQUESTS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_the_pass_never_changes_an_answer(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch, path: Path
) -> None:
    request = json.loads(path.read_text(encoding="utf-8"))
    with_pass = answer(client, request)
    keep_everything(monkeypatch)
    whole = answer(client, request)
    assert whole == with_pass, f"{path.stem}: the pass dropped what the rules read"
