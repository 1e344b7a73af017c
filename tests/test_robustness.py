"""Inputs found in review that once broke the service or its rules, each kept as a test."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import responses
from builders import CGH, ICD10CM, LOINC, NO_PRIOR_IMAGING, hook_request, order
from conformance import assert_conforms
from flask.testing import FlaskClient
from test_scenarios import NOW

from cds_service import create_app

TEMPERATURE = {
    "resourceType": "Observation",
    "id": "t1",
    "status": "final",
    "code": {"coding": [{"system": LOINC, "code": "8310-5"}]},
    "effectiveDateTime": "2026-11-22T08:00:00Z",
    "valueQuantity": {"value": 36.8, "code": "Cel"},
}
RADICULOPATHY = {
    "resourceType": "Condition",
    "id": "c1",
    "clinicalStatus": {"coding": [{"code": "active"}]},
    "code": {"coding": [{"system": ICD10CM, "code": "M54.12"}]},
    "subject": {"reference": "Patient/p1"},
}


def bundle(*resources: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in resources],
        **extra,
    }


def request(
    conditions: Any = None, observations: Any = None, orders: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    prefetch = {
        "patient": {"resourceType": "Patient", "id": "p1", "birthDate": "1980-01-01"},
        "conditions": conditions,
        "observations": observations,
        **NO_PRIOR_IMAGING,
    }
    return hook_request("order-sign", orders or [order("ct-1", code="72125")], prefetch=prefetch)


def with_changes(resource: dict[str, Any], **changes: Any) -> dict[str, Any]:
    changed = copy.deepcopy(resource)
    changed.update(changes)
    return changed


MALFORMED = {
    "coding code is a list": request(
        observations=bundle(
            with_changes(TEMPERATURE, code={"coding": [{"system": LOINC, "code": []}]})
        )
    ),
    "effectivePeriod is a string": request(
        observations=bundle(with_changes(TEMPERATURE, effectiveDateTime=None, effectivePeriod="x"))
    ),
    "Observation status is a list": request(
        observations=bundle(with_changes(TEMPERATURE, status=[]))
    ),
    "onsetPeriod is a list": request(
        conditions=bundle(with_changes(RADICULOPATHY, onsetPeriod=["x"]))
    ),
    "abatementPeriod is a string": request(
        conditions=bundle(with_changes(RADICULOPATHY, abatementPeriod="x"))
    ),
    "code.coding is a number": request(
        conditions=bundle(with_changes(RADICULOPATHY, code={"coding": 5}))
    ),
    "a draft Condition whose coding is a number": request(
        orders=[
            order("ct-1", code="72125"),
            {"resourceType": "Condition", "id": "c9", "code": {"coding": 5}},
        ]
    ),
    "Bundle.link is a number": request(conditions=bundle(link=5)),
    "reasonCode is an object": request(
        orders=[order("ct-1", code="72125", reasonCode={"coding": []})]
    ),
    "contained is a string": request(orders=[order("ct-1", code="72125", contained="x")]),
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_record_parts_never_cost_a_500(client: FlaskClient, body: dict[str, Any]) -> None:
    response = client.post("/cds-services/order-sign", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert_conforms(response.get_json())


def test_a_bundle_whose_entry_is_a_number_is_missing_data_not_an_empty_record(
    client: FlaskClient,
) -> None:
    # unreadable is not "no conditions": without a FHIR server to read them from, a 412
    body = request(conditions={"resourceType": "Bundle", "entry": 5})
    response = client.post("/cds-services/order-sign", json=body)
    assert response.status_code == 412, response.get_data(as_text=True)
    assert "prefetch key 'conditions'" in response.get_json()["issue"][0]["diagnostics"]


@pytest.fixture
def scenario_client() -> FlaskClient:
    return create_app({"TESTING": True}, clock=lambda: NOW).test_client()


def indicators(client: FlaskClient, body: dict[str, Any]) -> list[str]:
    response = client.post("/cds-services/order-sign", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return [c["indicator"] for c in response.get_json()["cards"]]


def test_a_deficit_dated_only_by_its_year_may_be_new(scenario_client: FlaskClient) -> None:
    deficit = with_changes(
        RADICULOPATHY,
        code={"coding": [{"system": ICD10CM, "code": "R26.89"}]},
        onsetDateTime="2026",
    )
    assert indicators(scenario_client, request(conditions=bundle(deficit))) == ["warning"]


def test_a_radiculopathy_resolved_this_year_still_excludes(scenario_client: FlaskClient) -> None:
    resolved = with_changes(
        RADICULOPATHY, clinicalStatus={"coding": [{"code": "resolved"}]}, abatementDateTime="2026"
    )
    assert indicators(scenario_client, request(conditions=bundle(resolved))) == ["info"]


def test_a_prefetch_bundle_carrying_an_error_is_not_a_complete_record(
    client: FlaskClient,
) -> None:
    failed = bundle(
        {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "exception"}]}
    )
    response = client.post("/cds-services/order-sign", json=request(conditions=failed))
    assert response.status_code == 412
    assert "'conditions' is an OperationOutcome" in response.get_json()["issue"][0]["diagnostics"]


def test_a_search_warning_in_a_prefetch_bundle_is_fine(client: FlaskClient) -> None:
    warned = bundle(
        {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "warning", "code": "processing"}],
        }
    )
    assert (
        client.post("/cds-services/order-sign", json=request(conditions=warned)).status_code == 200
    )


def test_a_contained_reason_is_read(scenario_client: FlaskClient) -> None:
    contained = {
        "resourceType": "Condition",
        "id": "why",
        "code": CGH,
        "subject": {"reference": "Patient/p1"},
    }
    ct = order(
        "ct-1",
        code="72125",
        reason=False,
        contained=[contained],
        reasonReference=[{"reference": "#why"}],
    )
    assert indicators(scenario_client, request(orders=[ct])) == ["warning"]


def test_a_reason_in_the_draft_bundle_by_urn_uuid_is_read(scenario_client: FlaskClient) -> None:
    ct = order(
        "ct-1",
        code="72125",
        reason=False,
        reasonReference=[{"reference": "urn:uuid:5e0c1c9e-1111-4c1b-9f6b-000000000001"}],
    )
    body = request(orders=[ct])
    body["context"]["draftOrders"]["entry"].append(
        {
            "fullUrl": "urn:uuid:5e0c1c9e-1111-4c1b-9f6b-000000000001",
            "resource": {
                "resourceType": "Condition",
                "code": CGH,
                "subject": {"reference": "Patient/p1"},
            },
        }
    )
    assert indicators(scenario_client, body) == ["warning"]


def test_a_refuted_condition_cited_as_the_reason_is_no_indication(
    scenario_client: FlaskClient,
) -> None:
    refuted = {
        "resourceType": "Condition",
        "id": "cgh",
        "code": CGH,
        "verificationStatus": {"coding": [{"code": "refuted"}]},
        "subject": {"reference": "Patient/p1"},
    }
    ct = order("ct-1", code="72125", reason=False, reasonReference=[{"reference": "Condition/cgh"}])
    assert indicators(scenario_client, request(conditions=bundle(refuted), orders=[ct])) == []


BASE = "https://gateway.example.org/fhir/tenant-a"


def conditions_from_the_server(patient_id: str = "p1") -> dict[str, Any]:
    """A request whose conditions must be read from BASE, with a token."""
    body = request(observations=None)
    del body["prefetch"]["conditions"]
    body["context"]["patientId"] = patient_id
    body.update(
        fhirServer=BASE,
        fhirAuthorization={
            "access_token": "t",
            "token_type": "Bearer",
            "expires_in": 60,
            "scope": "s",
            "subject": "c",
        },
    )
    return body


def test_a_patient_id_cannot_walk_out_of_the_fhir_base(mock: responses.RequestsMock) -> None:
    client = create_app({"CDS_FHIR_ALLOWLIST": BASE}).test_client()
    mock.get(f"{BASE}/Condition", json=bundle())
    client.post(
        "/cds-services/order-sign", json=conditions_from_the_server("../../admin/secrets?x=")
    )
    assert mock.calls, "the Condition search was made"
    for call in mock.calls:
        assert call.request.url.startswith(f"{BASE}/Condition?patient=..%2F..%2Fadmin")


def test_a_next_link_to_another_path_on_the_same_host_is_not_followed(
    mock: responses.RequestsMock,
) -> None:
    client = create_app({"CDS_FHIR_ALLOWLIST": BASE}).test_client()
    mock.get(
        f"{BASE}/Condition",
        json=bundle(
            link=[{"relation": "next", "url": "https://gateway.example.org/fhir/tenant-b/p2"}]
        ),
    )
    response = client.post("/cds-services/order-sign", json=conditions_from_the_server())
    assert response.status_code == 412
    assert len(mock.calls) == 1


def test_another_patients_resources_in_the_prefetch_are_not_read(
    scenario_client: FlaskClient,
) -> None:
    theirs = with_changes(RADICULOPATHY, subject={"reference": "Patient/someone-else"})
    assert indicators(scenario_client, request(conditions=bundle(theirs))) == ["warning"]
    ours = with_changes(
        RADICULOPATHY, subject={"reference": "https://ehr.example.org/fhir/Patient/p1"}
    )
    assert indicators(scenario_client, request(conditions=bundle(ours))) == ["info"]
    body = request()
    body["prefetch"]["patient"]["id"] = "someone-else"  # not this patient: age unknown
    assert indicators(scenario_client, body) == ["info"]
