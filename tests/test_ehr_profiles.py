"""CDS_EHR_PROFILE: the suggestions in the form each EHR applies.

The Epic request is built from the shapes of Epic's public CDS Hooks documentation
(fhir_fixtures/epic/order-select-ct-prefetch.json): a ``collection`` Bundle of draft orders
with absolute references, Epic OID codes beside CPT, a "no results" searchset holding a warning
OperationOutcome, a PractitionerRole ``userId`` and the request's flat ``extension`` keys.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient
from support.builders import CPT, FIXTURES, LOINC, load
from support.clock import NOW
from support.conformance import assert_conforms
from support.pama import PAMA_URL

from cds_service import create_app
from cds_service.errors import StartupError
from cds_service.web.state import app_state

SITE = "urn:com.epic.cdshooks.action.code.system.preference-list-item"
EPIC = {"TESTING": True, "EHR_PROFILE": "epic", "MRI_ORDER_CODING": f"{SITE}|98765"}
EPIC_CT = "epic/order-select-ct-prefetch.json"
TOPIC = re.compile(r"[A-Za-z0-9]{1,100}")


def client_for(config: dict[str, Any]) -> FlaskClient:
    return create_app(config, clock=lambda: NOW).test_client()


def answer(client: FlaskClient, request: dict[str, Any]) -> dict[str, Any]:
    request = {**request, "hookInstance": str(uuid.uuid4())}
    response = client.post(f"/cds-services/{request['hook']}", json=request)
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    assert_conforms(body)
    return body


def every_action(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        action
        for card in body["cards"]
        for suggestion in card.get("suggestions", [])
        for action in suggestion["actions"]
    ]


@pytest.fixture(scope="module")
def epic() -> FlaskClient:
    return client_for(EPIC)


def test_epic_ct_order_select_answers_single_action_suggestions(epic: FlaskClient) -> None:
    request = load(EPIC_CT)
    body = answer(epic, request)
    (card,) = body["cards"]
    assert card["indicator"] == "warning"
    assert "Usually not appropriate" in card["summary"]
    assert card["selectionBehavior"] == "any"
    assert all(len(s["actions"]) == 1 for s in card["suggestions"])
    create, remove = card["suggestions"]
    assert create["label"] == "Order MRI cervical spine without IV contrast"
    assert create["isRecommended"] is True
    (action,) = create["actions"]
    assert action["type"] == "create"
    codings = [(c["system"], c["code"]) for c in action["resource"]["code"]["coding"]]
    assert codings == [(SITE, "98765"), (CPT, "72141"), (LOINC, "30667-0")]
    order = request["context"]["draftOrders"]["entry"][0]["resource"]
    assert action["resource"]["subject"] == order["subject"]  # the absolute reference kept
    assert action["resource"]["status"] == "draft"
    assert remove["label"] == "Remove this order"
    assert "isRecommended" not in remove
    assert remove["actions"] == [
        {
            "type": "delete",
            "description": "Remove the draft order: CT cervical spine without IV contrast",
            "resourceId": f"ServiceRequest/{order['id']}",
        }
    ]


def test_epic_never_updates_an_order_in_a_suggestion(epic: FlaskClient) -> None:
    for name in (EPIC_CT, "scenarios/sandbox-imaging-screen.json", "scenarios/families-cpt.json"):
        body = answer(epic, load(name))
        actions = every_action(body)
        assert actions, name
        assert {a["type"] for a in actions} <= {"create", "delete"}, name
        for card in body["cards"]:
            if card.get("suggestions"):
                assert card["selectionBehavior"] == "any"
                assert all(len(s["actions"]) == 1 for s in card["suggestions"])


def test_epic_every_scenario_conforms_with_one_action_per_suggestion(epic: FlaskClient) -> None:
    """Every scenario, answered in the epic profile: conformant, each suggestion one create or
    delete, "any", at most one MRI created per response and always with the site's coding."""
    created = 0
    for path in sorted((FIXTURES / "scenarios").glob("*.json")):
        body = answer(epic, json.loads(path.read_text(encoding="utf-8")))
        for card in body["cards"]:
            for suggestion in card.get("suggestions", []):
                assert card["selectionBehavior"] == "any", path.stem
                (action,) = suggestion["actions"]
                assert action["type"] in ("create", "delete"), path.stem
        creates = [a for a in every_action(body) if a["type"] == "create"]
        assert len(creates) <= 1, path.stem
        for create in creates:
            assert create["resource"]["code"]["coding"][0] == {"system": SITE, "code": "98765"}
        created += len(creates)
    assert created > 20


def test_epic_offers_the_mri_once_per_response(epic: FlaskClient) -> None:
    body = answer(epic, load("scenarios/families-cpt.json"))
    creates = [a for a in every_action(body) if a["type"] == "create"]
    assert len(creates) == 1
    removes = [a for a in every_action(body) if a["type"] == "delete"]
    assert len(removes) == len([c for c in body["cards"] if c.get("suggestions")])


def test_epic_does_not_offer_a_second_mri_once_one_is_drafted(epic: FlaskClient) -> None:
    """The clinician took "Order MRI..." but kept the CT: Epic drafts the site's orderable,
    which may carry only the preference-list code; the CT's card then only removes."""
    request = load(EPIC_CT)
    entries = request["context"]["draftOrders"]["entry"]
    mri = {
        "resourceType": "ServiceRequest",
        "id": "eMRI.draft2",
        "status": "draft",
        "intent": "order",
        "code": {"coding": [{"system": SITE, "code": "98765"}]},
        "subject": entries[0]["resource"]["subject"],
    }
    entries.append({"fullUrl": "https://fhir.example/ServiceRequest/eMRI.draft2", "resource": mri})
    request = {**request, "hook": "order-sign"}
    del request["context"]["selections"]
    body = answer(epic, request)
    assert [a["type"] for a in every_action(body)] == ["delete"]


def test_epic_keeps_the_system_actions(epic: FlaskClient) -> None:
    sandbox = answer(client_for({"TESTING": True}), load(EPIC_CT))
    body = answer(epic, load(EPIC_CT))
    assert body["systemActions"] == sandbox["systemActions"]
    (action,) = body["systemActions"]
    assert action["type"] == "update"
    assert [e["url"] for e in action["resource"]["extension"]] == [PAMA_URL]


def test_epic_topic_codes_are_alphanumeric_and_static(epic: FlaskClient) -> None:
    first = answer(epic, load(EPIC_CT))["cards"][0]["source"]["topic"]
    again = answer(epic, load("scenarios/sandbox-imaging-screen.json"))["cards"][0]
    assert TOPIC.fullmatch(first["code"])
    assert again["source"]["topic"] == first  # another patient, the same CT advice


def test_the_spec_profile_deletes_and_creates_in_one_suggestion() -> None:
    body = answer(client_for({"TESTING": True, "EHR_PROFILE": "spec"}), load(EPIC_CT))
    (card,) = body["cards"]
    assert card["selectionBehavior"] == "at-most-one"
    (replace,) = [s for s in card["suggestions"] if s.get("isRecommended")]
    assert [a["type"] for a in replace["actions"]] == ["delete", "create"]


def test_the_default_profile_replaces_with_one_update() -> None:
    body = answer(client_for({"TESTING": True}), load(EPIC_CT))
    (card,) = body["cards"]
    assert card["selectionBehavior"] == "at-most-one"
    (replace,) = [s for s in card["suggestions"] if s.get("isRecommended")]
    (update,) = replace["actions"]
    assert update["type"] == "update"
    assert [c["code"] for c in update["resource"]["code"]["coding"]] == ["72141", "30667-0"]


@pytest.mark.parametrize(("alias", "profile"), [("update", "sandbox"), ("delete-create", "spec")])
def test_cds_replace_action_is_an_alias(alias: str, profile: str) -> None:
    app = create_app({"TESTING": True, "REPLACE_ACTION": alias})
    assert app_state(app).settings.ehr_profile == profile
    same = create_app({"TESTING": True, "REPLACE_ACTION": alias, "EHR_PROFILE": profile})
    assert app_state(same).settings.ehr_profile == profile


def test_a_profile_and_an_alias_that_contradict_stop_start_up() -> None:
    with pytest.raises(StartupError, match="CDS_EHR_PROFILE=epic and CDS_REPLACE_ACTION=update"):
        create_app({"TESTING": True, "EHR_PROFILE": "epic", "REPLACE_ACTION": "update"})


@pytest.mark.parametrize(
    "value", ["98765", "|98765", f"{SITE}|", f"{SITE} |98765", f"{SITE}|98|765", "no scheme|1"]
)
def test_a_malformed_mri_order_coding_stops_start_up(value: str) -> None:
    with pytest.raises(StartupError, match=re.escape("CDS_MRI_ORDER_CODING: expected system|code")):
        create_app({"TESTING": True, "MRI_ORDER_CODING": value})


def test_an_unknown_profile_stops_start_up() -> None:
    with pytest.raises(StartupError, match="CDS_EHR_PROFILE: expected sandbox, epic or spec"):
        create_app({"TESTING": True, "EHR_PROFILE": "cerner"})


def test_epic_without_the_order_coding_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="cds_service"):
        create_app({"TESTING": True, "EHR_PROFILE": "epic"})
    said = [r for r in caplog.records if "CDS_MRI_ORDER_CODING" in r.getMessage()]
    assert len(said) == 1
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="cds_service"):
        create_app(EPIC)
        create_app({"TESTING": True})
    assert not [r for r in caplog.records if "CDS_MRI_ORDER_CODING" in r.getMessage()]
