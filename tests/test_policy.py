"""The configurable parts of the advice."""

from __future__ import annotations

from typing import Any

from support.builders import load
from support.clock import NOW
from support.conformance import assert_conforms
from support.pama import pama_of

from cds_service import create_app


def call(config: dict[str, Any], scenario: str) -> dict[str, Any]:
    client = create_app(config, clock=lambda: NOW).test_client()
    request = load(f"scenarios/{scenario}.json")
    response = client.post(f"/cds-services/{request['hook']}", json=request)
    assert response.status_code == 200
    body: dict[str, Any] = response.get_json()
    assert_conforms(body)
    return body


def test_out_of_scope_cards_can_be_turned_off() -> None:
    assert len(call({}, "excl-radiculopathy-icd")["cards"]) == 1
    body = call({"CDS_OUT_OF_SCOPE_CARDS": False}, "excl-radiculopathy-icd")
    assert body["cards"] == []
    assert pama_of(body["systemActions"][0])[0]["code"] == "no-criteria-apply"


def test_escalation_warning_stays_when_out_of_scope_cards_are_off() -> None:
    body = call({"CDS_OUT_OF_SCOPE_CARDS": False}, "excl-neuro-deficit-new")
    assert [c["indicator"] for c in body["cards"]] == ["warning"]


def test_may_be_appropriate_rating_is_configurable() -> None:
    default = call({}, "mri-without-cpt")["systemActions"][0]
    assert pama_of(default)[0]["code"] == "appropriate"
    body = call({"CDS_MAY_BE_APPROPRIATE_RATING": "no-criteria-apply"}, "mri-without-cpt")
    codings = pama_of(body["systemActions"][0])
    assert [c["code"] for c in codings] == ["no-criteria-apply", "may-be-appropriate-disagreement"]


def test_an_existing_pama_rating_is_replaced_not_duplicated() -> None:
    request = load("scenarios/sandbox-imaging-screen.json")
    order = request["context"]["draftOrders"]["entry"][0]["resource"]
    order["extension"] = [
        {
            "url": "http://fhir.org/argonaut/Extension/pama-rating",
            "valueCodeableConcept": {"coding": [{"code": "appropriate"}]},
        },
        {"url": "http://example.org/other", "valueString": "kept"},
    ]
    client = create_app({}, clock=lambda: NOW).test_client()
    body = client.post("/cds-services/order-select", json=request).get_json()
    extensions = body["systemActions"][0]["resource"]["extension"]
    assert [e["url"] for e in extensions] == [
        "http://example.org/other",
        "http://fhir.org/argonaut/Extension/pama-rating",
    ]
    assert pama_of(body["systemActions"][0])[0]["code"] == "not-appropriate"
