"""The patient record from the FHIR server when the prefetch lacks it (mocked with responses)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
import responses
from flask.testing import FlaskClient
from support.builders import NO_PRIOR_IMAGING, hook_request, order, searchset
from support.clock import NOW
from support.conformance import assert_conforms

from cds_service import create_app
from cds_service.record.prefetch import Wanted, unfetchable

BASE = "https://ehr.example.org/fhir"
TOKEN = "opaque-access-token-123"
AUTH = {
    "access_token": TOKEN,
    "token_type": "Bearer",
    "expires_in": 300,
    "scope": "patient/*.read",
    "subject": "cds-service",
}
PATIENT = {"resourceType": "Patient", "id": "p1", "birthDate": "1981-05-04"}
EMPTY = {"resourceType": "Bundle", "type": "searchset", "total": 0}
FEVER = {
    "resourceType": "Observation",
    "id": "t1",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "8310-5"}]},
    "effectiveDateTime": "2026-11-22T08:00:00Z",
    "valueQuantity": {"value": 38.6, "unit": "Cel", "code": "Cel"},
}


@pytest.fixture
def client(make_client: Callable[..., FlaskClient]) -> FlaskClient:
    """This module's calls may read from the test FHIR server."""
    return make_client(CDS_FHIR_ALLOWLIST=BASE, CDS_FHIR_DEADLINE=2.0)


def call(client: FlaskClient, prefetch: dict[str, Any], **extra: Any) -> Any:
    """An order-sign call; the prior-imaging keys are null unless ``prefetch`` names them."""
    body = hook_request(
        "order-sign",
        [order("ct-1", code="72125")],
        prefetch={**NO_PRIOR_IMAGING, **prefetch},
        fhirServer=BASE,
        fhirAuthorization=AUTH,
    )
    body.update(extra)
    return client.post("/cds-services/order-sign", json=body)


def card_indicators(response: Any) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert_conforms(response.get_json())
    return [c["indicator"] for c in response.get_json()["cards"]]


def test_full_prefetch_makes_no_http_call(
    client: FlaskClient, mock: responses.RequestsMock
) -> None:
    response = call(client, {"patient": PATIENT, "conditions": EMPTY, "observations": EMPTY})
    assert card_indicators(response) == ["warning"]
    assert len(mock.calls) == 0


def test_null_key_means_no_data_and_is_not_fetched(
    client: FlaskClient, mock: responses.RequestsMock
) -> None:
    response = call(client, {"patient": PATIENT, "conditions": None, "observations": None})
    assert card_indicators(response) == ["warning"]
    assert len(mock.calls) == 0


def test_missing_key_is_fetched_with_the_bearer_token(
    client: FlaskClient, mock: responses.RequestsMock
) -> None:
    mock.get(f"{BASE}/Observation", json=searchset(FEVER))
    response = call(client, {"patient": PATIENT, "conditions": None})
    assert card_indicators(response) == ["info"]  # the fetched fever excludes the patient
    [sent] = mock.calls
    assert sent.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.request.headers["Accept"] == "application/fhir+json"
    assert "patient=p1" in str(sent.request.url) and "8310-5" in str(sent.request.url)


def test_operation_outcome_in_a_key_is_fetched(
    client: FlaskClient, mock: responses.RequestsMock
) -> None:
    mock.get(f"{BASE}/Patient/p1", json=PATIENT)
    failed = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "timeout"}],
    }
    response = call(client, {"patient": failed, "conditions": None, "observations": None})
    assert card_indicators(response) == ["warning"]
    assert [str(c.request.url) for c in mock.calls] == [f"{BASE}/Patient/p1"]


def test_paged_results_are_read_across_three_pages(
    client: FlaskClient, mock: responses.RequestsMock
) -> None:
    normal = {**FEVER, "id": "t0", "valueQuantity": {"value": 36.9, "code": "Cel"}}
    mock.get(f"{BASE}/Observation", json=searchset(normal, next_url=f"{BASE}/page2"))
    mock.get(f"{BASE}/page2", json=searchset(normal, next_url=f"{BASE}/page3"))
    mock.get(f"{BASE}/page3", json=searchset(FEVER))
    response = call(client, {"patient": PATIENT, "conditions": None})
    assert card_indicators(response) == ["info"]  # the fever was on page 3
    assert len(mock.calls) == 3


def test_a_paged_prefetch_bundle_is_completed_from_the_server(
    client: FlaskClient, mock: responses.RequestsMock
) -> None:
    mock.get(f"{BASE}/page2", json=searchset(FEVER))
    prefetch = {
        "patient": PATIENT,
        "conditions": None,
        "observations": searchset(next_url=f"{BASE}/page2"),
    }
    assert card_indicators(call(client, prefetch)) == ["info"]


def assert_412(response: Any, key: str, reason: str) -> None:
    assert response.status_code == 412, response.get_data(as_text=True)
    issue = response.get_json()["issue"][0]
    assert f"prefetch key '{key}'" in issue["diagnostics"]
    assert reason in issue["diagnostics"]
    assert f"prefetch.{key}" in issue["expression"]
    assert TOKEN not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ({"status": 500, "json": {"resourceType": "OperationOutcome"}}, "HTTP 500"),
        ({"body": requests.exceptions.ReadTimeout("slow")}, "did not answer in time"),
        ({"body": requests.exceptions.ConnectionError("refused")}, "could not be reached"),
        ({"status": 401, "json": {}}, "refused the access token (HTTP 401)"),
        ({"status": 200, "body": "<html>garbage</html>"}, "not JSON"),
        ({"status": 200, "json": [1, 2]}, "not a FHIR resource"),
        ({"status": 200, "json": {"resourceType": "OperationOutcome"}}, "OperationOutcome"),
        ({"status": 302, "headers": {"Location": "https://elsewhere.example.com/"}}, "HTTP 302"),
    ],
)
def test_server_failures_are_a_412_naming_the_key(
    client: FlaskClient, mock: responses.RequestsMock, answer: dict[str, Any], reason: str
) -> None:
    mock.get(f"{BASE}/Condition", **answer)
    response = call(client, {"patient": PATIENT, "observations": None})
    assert_412(response, "conditions", reason)


def test_a_server_not_in_the_allowlist_is_never_called(mock: responses.RequestsMock) -> None:
    client = create_app({"CDS_FHIR_ALLOWLIST": "https://trusted.example.org/fhir"}).test_client()
    response = call(client, {"patient": PATIENT, "observations": None})
    assert_412(response, "conditions", "not in this service's CDS_FHIR_ALLOWLIST")
    assert len(mock.calls) == 0


@pytest.mark.parametrize(
    "prefix", ["", "https://ehr.example.org/fhirevil", "http://ehr.example.org"]
)
def test_allowlist_matches_on_url_boundaries(mock: responses.RequestsMock, prefix: str) -> None:
    client = create_app({"CDS_FHIR_ALLOWLIST": prefix}).test_client()
    assert call(client, {"patient": PATIENT, "observations": None}).status_code == 412
    assert len(mock.calls) == 0


def test_no_token_no_fetch_unless_anonymous_is_allowed(mock: responses.RequestsMock) -> None:
    mock.get(f"{BASE}/Condition", json=EMPTY)
    body = hook_request(
        "order-sign",
        [order("ct-1", code="72125")],
        prefetch={"patient": PATIENT, "observations": None, **NO_PRIOR_IMAGING},
        fhirServer=BASE,
    )
    strict = create_app({"CDS_FHIR_ALLOWLIST": BASE}).test_client()
    response = strict.post("/cds-services/order-sign", json=body)
    assert_412(response, "conditions", "no fhirAuthorization")
    assert len(mock.calls) == 0
    open_server = create_app(
        {"CDS_FHIR_ALLOWLIST": BASE, "CDS_FHIR_ANONYMOUS": True}, clock=lambda: NOW
    ).test_client()
    assert card_indicators(open_server.post("/cds-services/order-sign", json=body)) == ["warning"]
    assert "Authorization" not in mock.calls[0].request.headers


def test_no_fhir_server_is_a_412(client: FlaskClient, mock: responses.RequestsMock) -> None:
    body = hook_request(
        "order-sign",
        [order("ct-1", code="72125")],
        prefetch={"patient": PATIENT, "observations": None, **NO_PRIOR_IMAGING},
    )
    response = client.post("/cds-services/order-sign", json=body)
    assert_412(response, "conditions", "no fhirServer")


def test_a_next_link_to_another_host_is_not_followed(
    client: FlaskClient, mock: responses.RequestsMock
) -> None:
    mock.get(
        f"{BASE}/Condition", json=searchset(next_url="https://attacker.example.com/steal?page=2")
    )
    mock.get("https://attacker.example.com/steal", json=EMPTY)
    response = call(client, {"patient": PATIENT, "observations": None})
    assert_412(response, "conditions", "another host")
    assert [str(c.request.url).split("?")[0] for c in mock.calls] == [f"{BASE}/Condition"]


def test_paging_stops_at_the_cap(mock: responses.RequestsMock) -> None:
    client = create_app({"CDS_FHIR_ALLOWLIST": BASE, "CDS_FHIR_MAX_PAGES": 2}).test_client()
    mock.get(f"{BASE}/Condition", json=searchset(next_url=f"{BASE}/p2"))
    mock.get(f"{BASE}/p2", json=searchset(next_url=f"{BASE}/p3"))
    mock.get(f"{BASE}/p3", json=EMPTY)
    assert_412(
        call(client, {"patient": PATIENT, "observations": None}), "conditions", "more than 2 pages"
    )
    assert len(mock.calls) == 2


def test_keys_are_fetched_concurrently(client: FlaskClient, mock: responses.RequestsMock) -> None:
    spans: list[tuple[float, float]] = []
    lock = threading.Lock()

    def slow(answer: dict[str, Any]) -> Any:
        def reply(request: Any) -> tuple[int, dict[str, str], str]:
            start = time.monotonic()
            time.sleep(0.3)
            with lock:
                spans.append((start, time.monotonic()))
            import json

            return 200, {"Content-Type": "application/fhir+json"}, json.dumps(answer)

        return reply

    mock.add_callback(responses.GET, f"{BASE}/Patient/p1", callback=slow(PATIENT))
    mock.add_callback(responses.GET, f"{BASE}/Condition", callback=slow(EMPTY))
    mock.add_callback(responses.GET, f"{BASE}/Observation", callback=slow(EMPTY))
    assert card_indicators(call(client, {})) == ["warning"]
    assert len(spans) == 3
    latest_start = max(start for start, _ in spans)
    earliest_end = min(end for _, end in spans)
    assert latest_start < earliest_end, "the three requests did not overlap"


def test_the_deadline_bounds_a_slow_server(mock: responses.RequestsMock) -> None:
    client = create_app({"CDS_FHIR_ALLOWLIST": BASE, "CDS_FHIR_DEADLINE": 0.2}).test_client()
    release = threading.Event()

    def hang(request: Any) -> tuple[int, dict[str, str], str]:
        release.wait(2)
        return 200, {}, "{}"

    mock.add_callback(responses.GET, f"{BASE}/Condition", callback=hang)
    try:
        response = call(client, {"patient": PATIENT, "observations": None})
    finally:
        release.set()
    assert_412(response, "conditions", "deadline")


def test_a_rejected_resource_is_logged_by_id_fails_safe_and_the_call_goes_on(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    # R4 has no Observation.privateRemark / Condition.privateRemark: fhir.resources rejects them
    broken_fever = {**FEVER, "id": "bad-1", "privateRemark": "PRIVATE-NOTE"}
    broken_cgh = {
        "resourceType": "Condition",
        "id": "bad-2",
        "privateRemark": "PRIVATE-NOTE",
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "279016001"}]},
        "subject": {"reference": "Patient/p1"},
    }
    with caplog.at_level("WARNING"):
        # a rejected fever still puts the patient outside the variant: never a false warning
        prefetch = {"patient": PATIENT, "conditions": None, "observations": searchset(broken_fever)}
        assert card_indicators(call(client, prefetch)) == ["info"]
        # a rejected Condition never supplies the indication: silence, not a rating
        body = hook_request(
            "order-sign",
            [order("ct-1", code="72125", reason=False)],
            prefetch={
                "patient": PATIENT,
                "conditions": searchset(broken_cgh),
                "observations": None,
                **NO_PRIOR_IMAGING,
            },
        )
        response = client.post("/cds-services/order-sign", json=body)
        assert card_indicators(response) == []
    # Observations are read field by field and never validated (their verdict could not
    # change the answer); a rejected Condition is logged by type and id, never its content
    assert "Condition/bad-2" in caplog.text and "Observation/bad-1" not in caplog.text
    assert "PRIVATE-NOTE" not in caplog.text


def test_cookies_set_by_a_fhir_server_never_ride_along_on_the_next_call(
    client: FlaskClient, mock: responses.RequestsMock
) -> None:
    mock.get(
        f"{BASE}/Condition",
        json=EMPTY,
        headers={"Set-Cookie": "SESSION=for-the-first-token; Path=/"},
    )
    for _ in range(2):
        call(client, {"patient": PATIENT, "observations": None})
    assert len(mock.calls) == 2
    assert "Cookie" not in mock.calls[1].request.headers


PRIOR_MRI = {
    "resourceType": "Procedure",
    "id": "proc-1",
    "status": "completed",
    "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "72141"}]},
    "subject": {"reference": "Patient/p1"},
    "performedDateTime": "2026-08-23",
}


def test_prior_imaging_keys_are_fetched_with_the_procedure_tables_codes(
    client: FlaskClient, mock: responses.RequestsMock
) -> None:
    mock.get(f"{BASE}/Procedure", json=searchset(PRIOR_MRI))
    mock.get(f"{BASE}/DiagnosticReport", json=EMPTY)
    mock.get(f"{BASE}/ImagingStudy", json=EMPTY)
    prefetch = {
        "patient": PATIENT,
        "conditions": None,
        "observations": None,
        "observationValues": None,
    }
    body = hook_request(
        "order-sign",
        [order("ct-1", code="72125")],
        prefetch=prefetch,
        fhirServer=BASE,
        fhirAuthorization=AUTH,
    )
    response = client.post("/cds-services/order-sign", json=body)
    # the MRI three months ago makes this follow-up imaging: outside the variant, not rated
    assert card_indicators(response) == ["info"]
    assert (
        "MRI cervical spine without IV contrast, Procedure"
        in response.get_json()["cards"][0]["detail"]
    )
    urls = {str(c.request.url).split("?")[0]: str(c.request.url) for c in mock.calls}
    assert set(urls) == {f"{BASE}/Procedure", f"{BASE}/DiagnosticReport", f"{BASE}/ImagingStudy"}
    for kind in ("Procedure", "DiagnosticReport"):
        query = urls[f"{BASE}/{kind}"]
        assert "patient=p1" in query and "72141" in query and "30592-0" in query, kind
    assert "code=" not in urls[f"{BASE}/ImagingStudy"]  # no standard search on procedureCode
    assert "patient=p1" in urls[f"{BASE}/ImagingStudy"]


def test_examination_findings_are_fetched_by_their_coded_value(
    client: FlaskClient, mock: responses.RequestsMock
) -> None:
    numbness = {
        "resourceType": "Observation",
        "id": "exam-1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "11450-4"}]},
        "valueCodeableConcept": {
            "coding": [{"system": "http://snomed.info/sct", "code": "44077006"}]
        },
        "subject": {"reference": "Patient/p1"},
    }
    mock.get(f"{BASE}/Observation", json=searchset(numbness))
    prefetch = {**NO_PRIOR_IMAGING, "patient": PATIENT, "conditions": None, "observations": None}
    del prefetch["observationValues"]
    body = hook_request(
        "order-sign",
        [order("ct-1", code="72125")],
        prefetch=prefetch,
        fhirServer=BASE,
        fhirAuthorization=AUTH,
    )
    response = client.post("/cds-services/order-sign", json=body)
    # an undated numbness finding: a deficit that may be new, so the escalation warning
    assert card_indicators(response) == ["warning"]
    assert "urgent escalation" in response.get_json()["cards"][0]["summary"]
    (call,) = mock.calls
    url = str(call.request.url)
    assert "value-concept=" in url and "http://snomed.info/sct%7C44077006" in url


def test_prior_imaging_that_cannot_be_fetched_is_a_412(
    client: FlaskClient, mock: responses.RequestsMock
) -> None:
    # without the imaging history the service cannot tell initial from follow-up imaging
    mock.get(f"{BASE}/ImagingStudy", status=500)
    prefetch = {**NO_PRIOR_IMAGING, "patient": PATIENT, "conditions": None, "observations": None}
    del prefetch["imagingStudies"]
    body = hook_request(
        "order-sign",
        [order("ct-1", code="72125")],
        prefetch=prefetch,
        fhirServer=BASE,
        fhirAuthorization=AUTH,
    )
    assert_412(client.post("/cds-services/order-sign", json=body), "imagingStudies", "HTTP 500")


# ------------------------------------------------------------ unusable containers: fetched or 412
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
RADICULOPATHY = {
    "resourceType": "Condition",
    "id": "rad-1",
    "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "active"}]},
    "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M54.12"}]},
    "subject": {"reference": "Patient/p1"},
}
UNUSABLE = [
    ("conditions", [RADICULOPATHY], "a JSON array"),
    ("conditions", {"type": "searchset", "entry": [{"resource": RADICULOPATHY}]}, "resourceType"),
    (
        "conditions",
        {"resourceType": "Bundle", "type": "searchset", "entry": {"resource": RADICULOPATHY}},
        "entry is not a list",
    ),
    (
        "conditions",
        {"resourceType": "Bundle", "type": "searchset", "entry": [{"fullUrl": f"{BASE}/x/1"}]},
        "an entry that holds no resource",
    ),
    ("conditions", RADICULOPATHY, "a Condition, not a Bundle"),
    ("conditions", searchset(RADICULOPATHY, link=5), "links cannot be read"),
    (
        "conditions",
        searchset(RADICULOPATHY, link=[{"relation": "next", "url": 5}]),
        "links cannot be read",
    ),
    ("observations", {"resourceType": "Bundle", "entry": [{"resource": "t1"}]}, "no resource"),
    ("patient", searchset(PATIENT), "a Bundle, not a Patient"),
]
SERVED = {
    "patient": ("Patient/p1", PATIENT, ["warning"]),  # an adult: CT is Usually not appropriate
    "conditions": ("Condition", searchset(RADICULOPATHY), ["info"]),  # outside the variant
    "observations": ("Observation", searchset(FEVER), ["info"]),  # a fever: outside it
}


@pytest.mark.parametrize(("key", "value", "reason"), UNUSABLE)
def test_an_unusable_prefetch_value_is_fetched_not_read_as_no_data(
    client: FlaskClient, mock: responses.RequestsMock, key: str, value: Any, reason: str
) -> None:
    path, answer, indicators = SERVED[key]
    mock.get(f"{BASE}/{path}", json=answer)
    prefetch = {"patient": PATIENT, "conditions": None, "observations": None, key: value}
    assert card_indicators(call(client, prefetch)) == indicators
    assert [str(c.request.url).split("?")[0] for c in mock.calls] == [f"{BASE}/{path}"]


@pytest.mark.parametrize(("key", "value", "reason"), UNUSABLE)
def test_an_unusable_prefetch_value_that_cannot_be_fetched_is_a_412(
    mock: responses.RequestsMock, key: str, value: Any, reason: str
) -> None:
    client = create_app({"TESTING": True}, clock=lambda: NOW).test_client()  # no allowlist
    prefetch = {"patient": PATIENT, "conditions": None, "observations": None, key: value}
    response = call(client, prefetch)
    assert_412(response, key, reason)
    assert "not in this service's CDS_FHIR_ALLOWLIST" in response.get_data(as_text=True)
    assert len(mock.calls) == 0


@pytest.mark.parametrize(
    ("key", "path", "answer", "reason"),
    [
        (
            "conditions",
            "Condition",
            {"resourceType": "Bundle", "type": "searchset", "entry": {"resource": RADICULOPATHY}},
            "entry is not a list",
        ),
        (
            "conditions",
            "Condition",
            {"resourceType": "Bundle", "type": "searchset", "entry": [{"search": {}}]},
            "an entry that holds no resource",
        ),
        ("conditions", "Condition", RADICULOPATHY, "a Condition, not a Bundle"),
        ("conditions", "Condition", searchset(RADICULOPATHY, link="x"), "links cannot be read"),
        ("patient", "Patient/p1", searchset(PATIENT), "a Bundle, not a Patient"),
    ],
)
def test_an_unusable_answer_from_the_server_is_a_412(
    client: FlaskClient,
    mock: responses.RequestsMock,
    key: str,
    path: str,
    answer: dict[str, Any],
    reason: str,
) -> None:
    mock.get(f"{BASE}/{path}", json=answer)
    prefetch = {"patient": PATIENT, "conditions": None, "observations": None}
    del prefetch[key]
    assert_412(call(client, prefetch), key, reason)


def test_a_later_page_that_is_not_a_searchset_is_a_412(
    client: FlaskClient, mock: responses.RequestsMock
) -> None:
    mock.get(f"{BASE}/Condition", json=searchset(next_url=f"{BASE}/page2"))
    mock.get(f"{BASE}/page2", json={"resourceType": "Bundle", "entry": {"resource": RADICULOPATHY}})
    response = call(client, {"patient": PATIENT, "observations": None})
    assert_412(response, "conditions", "entry is not a list")


def test_a_bundle_without_entry_is_an_empty_searchset_and_null_is_no_data(
    client: FlaskClient, mock: responses.RequestsMock
) -> None:
    prefetch = {"patient": PATIENT, "conditions": {"resourceType": "Bundle"}, "observations": None}
    assert card_indicators(call(client, prefetch)) == ["warning"]
    assert len(mock.calls) == 0


def test_a_412_names_each_key_and_each_reason_once() -> None:
    wanted = {
        "conditions": Wanted("Condition?patient=p1", "missing"),
        "observations": Wanted("Observation?patient=p1", "missing"),
        "procedures": Wanted("Procedure?patient=p1", "an OperationOutcome"),
        "patient": Wanted(f"{BASE}/page2", "paged"),
    }
    faults = {
        "conditions": "the FHIR server answered HTTP 500",
        "observations": "the FHIR server answered HTTP 500",
        "procedures": "the deadline for FHIR fetches passed",
        "patient": "the deadline for FHIR fetches passed",
    }
    error = unfetchable(wanted, faults, refused=False)
    assert error.message == (
        "prefetch keys 'conditions' and 'observations' are missing; they could not be fetched:"
        " the FHIR server answered HTTP 500. Prefetch key 'procedures' is an OperationOutcome,"
        " and prefetch key 'patient' is a searchset with more pages; they could not be fetched:"
        " the deadline for FHIR fetches passed. Send them in the prefetch."
    )
    assert error.expression == [f"prefetch.{key}" for key in faults]
    refused = unfetchable({"patient": wanted["patient"]}, {"patient": "no fhirServer"}, True)
    assert refused.message.endswith(
        "Send it in the prefetch, or send fhirServer (a FHIR server on this service's"
        " CDS_FHIR_ALLOWLIST) with an access token in fhirAuthorization."
    )


def test_a_later_page_whose_links_cannot_be_read_is_a_412(
    client: FlaskClient, mock: responses.RequestsMock
) -> None:
    # it may have a next page of its own: the search is not known to be complete
    mock.get(f"{BASE}/Condition", json=searchset(next_url=f"{BASE}/page2"))
    mock.get(f"{BASE}/page2", json=searchset(RADICULOPATHY, link=5))
    response = call(client, {"patient": PATIENT, "observations": None})
    assert_412(response, "conditions", "links cannot be read")
