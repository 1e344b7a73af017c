"""The patient record from the FHIR server when the prefetch lacks it (mocked with responses)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests
import responses
from builders import hook_request, order
from conformance import assert_conforms
from flask.testing import FlaskClient
from test_scenarios import NOW

from cds_service import create_app

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


def searchset(*resources: dict[str, Any], next_url: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in resources],
    }
    if next_url:
        body["link"] = [{"relation": "next", "url": next_url}]
    return body


@pytest.fixture
def client() -> FlaskClient:
    config = {"TESTING": True, "CDS_FHIR_ALLOWLIST": BASE, "CDS_FHIR_DEADLINE": 2.0}
    return create_app(config, clock=lambda: NOW).test_client()


def call(client: FlaskClient, prefetch: dict[str, Any], **extra: Any) -> Any:
    body = hook_request(
        "order-sign",
        [order("ct-1", code="72125")],
        prefetch=prefetch,
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
    assert "patient=p1" in sent.request.url and "8310-5" in sent.request.url


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
    assert [c.request.url for c in mock.calls] == [f"{BASE}/Patient/p1"]


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
        prefetch={"patient": PATIENT, "observations": None},
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
        prefetch={"patient": PATIENT, "observations": None},
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
    assert [c.request.url.split("?")[0] for c in mock.calls] == [f"{BASE}/Condition"]


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
            },
        )
        response = client.post("/cds-services/order-sign", json=body)
        assert card_indicators(response) == []
    assert "Observation/bad-1" in caplog.text and "Condition/bad-2" in caplog.text
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
