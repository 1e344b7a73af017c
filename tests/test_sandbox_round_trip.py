"""The CDS Hooks sandbox's replace round trip, as its PAMA imaging screen performs it.

The sandbox changes an order only through an ``update`` action: when the clinician accepts a
suggestion, it replaces the draft order with the action's resource (reading the pama-rating
extension on it) and calls order-select again with the changed order.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient
from support.builders import load
from support.clock import NOW
from support.pama import PAMA_SYSTEM, PAMA_URL

from cds_service import create_app
from cds_service.errors import StartupError


def call(client: FlaskClient, body: dict[str, Any]) -> dict[str, Any]:
    body = {**body, "hookInstance": str(uuid.uuid4())}
    response = client.post("/cds-services/order-select", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    result: dict[str, Any] = response.get_json()
    return result


def apply_as_the_sandbox_does(body: dict[str, Any], action: dict[str, Any]) -> dict[str, Any]:
    """The sandbox's click handler: an update replaces the draft order of the same id."""
    assert action["type"] == "update"
    resource = action["resource"]
    ratings = [e for e in resource.get("extension", []) if e["url"] == PAMA_URL]
    assert ratings, "the sandbox's handler fails on an update without the pama-rating"
    changed = copy.deepcopy(body)
    entries = changed["context"]["draftOrders"]["entry"]
    (index,) = [i for i, e in enumerate(entries) if e["resource"]["id"] == resource["id"]]
    entries[index] = {"resource": resource}
    return changed


def pama_codes(result: dict[str, Any]) -> list[str]:
    return [
        coding["code"]
        for action in result.get("extension", {}).get("systemActions", [])
        for extension in action["resource"].get("extension", [])
        if extension["url"] == PAMA_URL
        for coding in extension["valueCodeableConcept"]["coding"]
        if coding["system"] == PAMA_SYSTEM
    ]


def test_replacing_the_ct_gives_the_mri_its_may_be_appropriate_rating(
    client: FlaskClient,
) -> None:
    body = load("scenarios/sandbox-imaging-screen.json")
    first = call(client, body)
    (card,) = first["cards"]
    assert "Usually not appropriate" in card["summary"]
    assert pama_codes(first) == ["not-appropriate"]
    (replace,) = [s for s in card["suggestions"] if s.get("isRecommended")]
    (action,) = replace["actions"]
    assert action["resource"]["id"] == "example-request-id"

    second = call(client, apply_as_the_sandbox_does(body, action))
    (card,) = second["cards"]
    assert card["indicator"] == "info"
    assert card["summary"].startswith("MRI cervical spine without IV contrast: May be appropriate")
    assert pama_codes(second) == ["appropriate"]
    order = second["systemActions"][0]["resource"]
    assert order["id"] == "example-request-id"
    assert order["subject"] == body["context"]["draftOrders"]["entry"][0]["resource"]["subject"]


def test_the_delete_create_form_for_ehrs_that_want_it() -> None:
    client = create_app(
        {"TESTING": True, "REPLACE_ACTION": "delete-create"}, clock=lambda: NOW
    ).test_client()
    (card,) = call(client, load("scenarios/sandbox-imaging-screen.json"))["cards"]
    (replace,) = [s for s in card["suggestions"] if s.get("isRecommended")]
    delete, create = replace["actions"]
    assert delete == {
        "type": "delete",
        "description": "Remove the draft order: CT cervical spine without IV contrast",
        "resourceId": "ServiceRequest/example-request-id",
    }
    assert create["type"] == "create"
    assert create["resource"]["id"] != "example-request-id"
    assert {c["code"] for c in create["resource"]["code"]["coding"]} == {"72141", "30667-0"}


def test_an_unknown_replace_action_stops_start_up() -> None:
    with pytest.raises(StartupError, match="CDS_REPLACE_ACTION: expected"):
        create_app({"TESTING": True, "REPLACE_ACTION": "swap"})
