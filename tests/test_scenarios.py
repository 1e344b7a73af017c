"""The scenarios: one file of expected outcomes (tests/scenarios.yaml), one parametrized test."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask.testing import FlaskClient
from support.builders import CPT, FIXTURES, LOINC, load
from support.conformance import assert_conforms
from support.pama import PAMA_SYSTEM, PAMA_URL, pama_of

from cds_service import create_app

SPEC = yaml.safe_load((Path(__file__).parent / "scenarios.yaml").read_text(encoding="utf-8"))
NOW = datetime.fromisoformat(SPEC["now"])
ACR_URL = "https://acsearch.acr.org/docs/69426/Narrative/"
RATING = {
    "not-appropriate": "Usually not appropriate",
    "may-be": "May be appropriate (Disagreement)",
}


@pytest.fixture(scope="module")
def scenario_client() -> FlaskClient:
    return create_app({"TESTING": True}, clock=lambda: NOW).test_client()


def test_every_scenario_file_has_expectations() -> None:
    files = {p.stem for p in (FIXTURES / "scenarios").glob("*.json")}
    assert files == set(SPEC["scenarios"])
    assert len(files) >= 25


def test_the_generator_writes_the_scenarios_checked_in() -> None:
    """``fhir_fixtures/scenarios/make_scenarios.py`` (on pytest's ``pythonpath``) makes what is
    committed: a scenario edited by hand, or a generator change not run, fails here."""
    from make_scenarios import scenarios

    made = scenarios()
    assert set(made) == {p.stem for p in (FIXTURES / "scenarios").glob("*.json")}
    for name, body in made.items():
        assert body == load(f"scenarios/{name}.json"), f"{name}: run make_scenarios.py again"


def entries(request: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(key, resource) of each draft order: its id, or "#N" when it has none."""
    found = request["context"]["draftOrders"].get("entry", [])
    return [(e["resource"].get("id") or f"#{i}", e["resource"]) for i, e in enumerate(found)]


def text_of(card: dict[str, Any]) -> str:
    """What the clinician reads: summary, detail and the suggestions' labels."""
    labels = [s["label"] for s in card.get("suggestions", [])]
    return "\n".join([card["summary"], card.get("detail", ""), *labels]).casefold()


def suggestion_kind(suggestion: dict[str, Any]) -> str:
    """replace: one update of the draft order into the MRI, the recommended suggestion."""
    types = [a["type"] for a in suggestion["actions"]]
    kind = {
        ("update",): "replace",
        ("delete",): "remove",
        ("delete", "delete"): "remove-with-mri",
    }[tuple(types)]
    assert suggestion.get("isRecommended", False) is (kind == "replace")
    return kind


def check_replacement(resource: dict[str, Any], original: dict[str, Any]) -> None:
    """The same draft order (same id), now MRI cervical spine without IV contrast, its
    context kept, carrying the MRI's pama-rating (the sandbox's click handler needs it)."""
    assert resource["resourceType"] == "ServiceRequest"
    assert resource["id"] == original["id"] and resource["status"] == original["status"]
    codes = {(c["system"], c["code"]) for c in resource["code"]["coding"]}
    assert codes == {(CPT, "72141"), (LOINC, "30667-0")}
    for field in ("subject", "encounter", "requester", "reasonCode", "reasonReference"):
        assert resource.get(field) == original.get(field), field
    (rating,) = [e for e in resource["extension"] if e["url"] == PAMA_URL]
    codings = rating["valueCodeableConcept"]["coding"]
    assert codings[0] == {"system": PAMA_SYSTEM, "code": "appropriate", "display": "Appropriate"}
    assert codings[1]["display"] == RATING["may-be"]


def check_card(
    key: str, expected: dict[str, Any], card: dict[str, Any], original: dict[str, Any]
) -> None:
    kind = expected["kind"]
    text = text_of(card)
    assert card["source"]["url"] == ACR_URL
    assert ACR_URL in [link["url"] for link in card["links"]]
    for words in expected.get("mentions", []):
        assert words.casefold() in text, f"{key}: card does not mention {words!r}"
    if kind in ("not-appropriate", "may-be"):
        assert RATING[kind] in card["summary"]
    if kind == "not-appropriate":
        assert card["indicator"] == "warning"
        if "replace" in expected.get("suggestions", []):
            assert "mri cervical spine without iv contrast is the most suitable study" in text
            assert "imaging is not always required" in text
        assert card["overrideReasons"]
    elif kind == "escalate":
        assert card["indicator"] == "warning"
    else:
        assert card["indicator"] == "info"
    if kind in ("excluded", "escalate", "unspecified", "other-region", "vascular-finding"):
        assert "not appropriate" not in card["summary"].casefold()
    if kind in ("excluded", "escalate", "vascular-finding"):
        assert "not appropriate" not in text, "an out-of-scope patient is never told that"
    suggestions = card.get("suggestions", [])
    assert [suggestion_kind(s) for s in suggestions] == expected.get("suggestions", [])
    for suggestion in suggestions:
        first, *others = suggestion["actions"]
        if first["type"] == "update":
            check_replacement(first["resource"], original)
            continue
        assert first["resourceId"] == f"ServiceRequest/{key}"
        for action in others:  # remove-with-mri: the other delete is the drafted MRI
            assert action["type"] == "delete" and action["resourceId"] != first["resourceId"]


@pytest.mark.parametrize("name", sorted(SPEC["scenarios"]))
def test_scenario(scenario_client: FlaskClient, name: str) -> None:
    spec = SPEC["scenarios"][name]
    request = load(f"scenarios/{name}.json")
    response = scenario_client.post(f"/cds-services/{request['hook']}", json=request)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert_conforms(body)

    orders = entries(request)
    expected = spec["orders"] or {}
    assert set(expected) <= {key for key, _ in orders}, "expectation names an unknown order"
    with_cards = [(key, resource) for key, resource in orders if key in expected]
    assert len(body["cards"]) == len(with_cards), [c["summary"] for c in body["cards"]]
    for (key, resource), card in zip(with_cards, body["cards"], strict=True):
        check_card(key, expected[key], card, resource)

    actions = {a["resource"]["id"]: a for a in body.get("systemActions", [])}
    wanted = {k: e["pama"] for k, e in expected.items() if e["pama"] != "none"}
    assert {k: pama_of(a)[0]["code"] for k, a in actions.items()} == wanted
    for key, action in actions.items():
        original = dict(orders)[key]
        updated = {k: v for k, v in action["resource"].items() if k != "extension"}
        assert updated == original, "the update must carry the draft order unchanged"
        kind = expected[key]["kind"]
        codings = pama_of(action)
        if kind in RATING:
            assert codings[1]["display"] == RATING[kind]
    assert body.get("extension", {}).get("systemActions", []) == body.get("systemActions", [])
