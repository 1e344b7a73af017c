"""Both hooks over HTTP: valid calls, order-select's selections, and every error status."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from support.builders import CPT, hook_request, order
from support.conformance import assert_conforms

from cds_service import create_app


def post(client: FlaskClient, service: str, body: Any, **kwargs: Any) -> Any:
    return client.post(f"/cds-services/{service}", json=body, **kwargs)


@pytest.mark.parametrize("hook", ["order-select", "order-sign"])
def test_hook_answers_a_valid_request(client: FlaskClient, hook: str) -> None:
    response = post(client, hook, hook_request(hook, [order("xr-1")]))
    assert response.status_code == 200
    body = response.get_json()
    assert_conforms(body)
    assert [c["indicator"] for c in body["cards"]] == ["warning"]
    assert body["systemActions"][0]["resource"]["id"] == "xr-1"
    assert body["extension"]["systemActions"] == body["systemActions"]


def test_order_select_appraises_only_the_selected_orders(client: FlaskClient) -> None:
    orders = [order("xr-1"), order("ct-1", CPT, "72125")]
    body = post(
        client,
        "order-select",
        hook_request("order-select", orders, selections=["ServiceRequest/ct-1"]),
    ).get_json()
    assert_conforms(body)
    assert len(body["cards"]) == 1
    assert body["cards"][0]["summary"].startswith("CT cervical spine without IV contrast")
    assert [a["resource"]["id"] for a in body["systemActions"]] == ["ct-1"]


def test_order_sign_appraises_every_draft_order(client: FlaskClient) -> None:
    orders = [order("xr-1"), order("ct-1", CPT, "72125")]
    body = post(client, "order-sign", hook_request("order-sign", orders)).get_json()
    assert_conforms(body)
    assert len(body["cards"]) == 2


def test_no_imaging_order_gets_empty_cards(client: FlaskClient) -> None:
    lab = order("lab-1", "http://loinc.org", "3024-7")
    body = post(client, "order-sign", hook_request("order-sign", [lab], prefetch={})).get_json()
    assert body == {"cards": []}


SANDBOX_QUIRKS = [
    # the CDS Hooks sandbox sends a Bundle without type, intent plan, and on page load an
    # empty coding
    {"resourceType": "Bundle", "entry": [{"resource": order("r1", reason=False)}]},
    {"resourceType": "Bundle", "entry": [{"resource": {**order("r1"), "code": {"coding": [{}]}}}]},
    {"resourceType": "Bundle"},
]


@pytest.mark.parametrize("draft_orders", SANDBOX_QUIRKS)
def test_sloppy_but_real_client_shapes_get_an_answer(
    client: FlaskClient, draft_orders: dict[str, Any]
) -> None:
    body = hook_request("order-select", [order("r1")])
    body["context"]["draftOrders"] = draft_orders
    response = post(client, "order-select", body)
    assert response.status_code == 200
    assert_conforms(response.get_json())


def assert_outcome(response: Any, status: int, mentions: str = "") -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["resourceType"] == "OperationOutcome"
    issue = body["issue"][0]
    assert issue["severity"] == "error" and issue["code"]
    assert mentions in issue["diagnostics"]
    assert "Traceback" not in response.get_data(as_text=True)
    return issue


def test_400_for_malformed_json(client: FlaskClient) -> None:
    response = client.post(
        "/cds-services/order-sign", data="{not json", content_type="application/json"
    )
    assert_outcome(response, 400, "not valid JSON")


def test_400_for_json_that_is_not_an_object(client: FlaskClient) -> None:
    assert_outcome(post(client, "order-sign", [1, 2]), 400, "JSON object")


def test_400_for_nan(client: FlaskClient) -> None:
    response = client.post(
        "/cds-services/order-sign", data='{"hook": NaN}', content_type="application/json"
    )
    assert_outcome(response, 400, "NaN")


@pytest.mark.parametrize(
    ("mutate", "field", "why"),
    [
        (lambda b: b.pop("hookInstance"), "hookInstance", "Field required"),
        (lambda b: b["context"].pop("patientId"), "context.patientId", "Field required"),
        (lambda b: b["context"].pop("selections"), "context.selections", "Field required"),
        (
            lambda b: b["context"].update(draftOrders={"resourceType": "Patient"}),
            "context.draftOrders",
            "must be a FHIR Bundle",
        ),
        (
            lambda b: b["context"].update(draftOrders={"resourceType": "Bundle", "entry": [1]}),
            "context.draftOrders",
            "entry[0]",
        ),
        (
            lambda b: b.update(
                fhirAuthorization={
                    "access_token": "t",
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "scope": "patient/*.read",
                    "subject": "cds",
                }
            ),
            "(body)",
            "fhirServer is required",
        ),
        (lambda b: b.update(fhirServer="not a url"), "fhirServer", "URL"),
        (lambda b: b.update(hook="order-sign"), "hook", "does not match"),
    ],
)
def test_400_names_the_field_and_why(
    client: FlaskClient, mutate: Any, field: str, why: str
) -> None:
    body = hook_request("order-select", [order("r1")])
    mutate(body)
    issue = assert_outcome(post(client, "order-select", body), 400, why)
    assert field in issue["diagnostics"]
    assert field in issue.get("expression", [field])


def test_400_never_echoes_the_access_token(client: FlaskClient) -> None:
    body = hook_request("order-select", [order("r1")])
    body["fhirAuthorization"] = {
        "access_token": "SECRET-TOKEN",
        "token_type": "Bearer",
        "expires_in": "soon",
        "scope": "x",
        "subject": "y",
    }
    body["fhirServer"] = "https://ehr.example.org/fhir"
    response = post(client, "order-select", body)
    assert_outcome(response, 400, "expires_in")
    assert "SECRET-TOKEN" not in response.get_data(as_text=True)


def test_404_unknown_service(client: FlaskClient) -> None:
    assert_outcome(post(client, "no-such-service", {}), 404, "no-such-service")


def test_404_unknown_path(client: FlaskClient) -> None:
    assert_outcome(client.get("/nowhere"), 404)


def test_405_wrong_method(client: FlaskClient) -> None:
    response = client.get("/cds-services/order-sign")
    assert_outcome(response, 405)
    assert "POST" in response.headers["Allow"]
    assert_outcome(client.delete("/cds-services"), 405)


def test_413_body_over_the_limit() -> None:
    client = create_app({"max_body_bytes": 1000}).test_client()
    body = hook_request("order-sign", [order("r1")])
    body["padding"] = "x" * 2000
    assert_outcome(post(client, "order-sign", body), 413, "1000 bytes")


def test_415_not_json(client: FlaskClient) -> None:
    response = client.post(
        "/cds-services/order-sign",
        data="hook=order-sign",
        content_type="application/x-www-form-urlencoded",
    )
    assert_outcome(response, 415, "application/json")
    assert_outcome(client.post("/cds-services/order-sign", data="{}"), 415)


def test_412_when_prefetch_is_missing_and_nothing_can_be_fetched(client: FlaskClient) -> None:
    body = hook_request("order-sign", [order("r1")], prefetch={"patient": None})
    issue = assert_outcome(post(client, "order-sign", body), 412, "prefetch keys 'conditions', ")
    assert issue["code"] == "incomplete"
    diagnostics = issue["diagnostics"]
    # each key named once, the reason once, and what to send instead
    assert "'observations'" in diagnostics and diagnostics.count("'conditions'") == 1
    assert diagnostics.count("could not be fetched: the request has no fhirServer") == 1
    assert diagnostics.endswith(
        "are missing; they could not be fetched: the request has no fhirServer. Send them in"
        " the prefetch, or send fhirServer (a FHIR server on this service's CDS_FHIR_ALLOWLIST)"
        " with an access token in fhirAuthorization."
    )
    assert issue["expression"][:2] == ["prefetch.conditions", "prefetch.observations"]


def test_412_when_prefetch_holds_an_operation_outcome(client: FlaskClient) -> None:
    prefetch = {
        "patient": None,
        "conditions": None,
        "observations": {"resourceType": "OperationOutcome", "issue": []},
    }
    body = hook_request("order-sign", [order("r1")], prefetch=prefetch)
    assert_outcome(post(client, "order-sign", body), 412, "'observations' is an OperationOutcome")


def test_500_is_an_operation_outcome_without_internals(app: Any) -> None:
    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    issue = assert_outcome(response, 500)
    assert "secret internals" not in issue["diagnostics"]


def test_413_for_a_chunked_body_over_the_limit() -> None:
    client = create_app({"max_body_bytes": 1000}).test_client()
    body = json.dumps({"padding": "x" * 2000}).encode()
    response = client.post(
        "/cds-services/order-sign",
        input_stream=io.BytesIO(body),
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
    )
    assert_outcome(response, 413, "1000 bytes")


def test_a_chunked_body_under_the_limit_is_read(client: FlaskClient) -> None:
    body = json.dumps(hook_request("order-sign", [order("r1")])).encode()
    response = client.post(
        "/cds-services/order-sign",
        input_stream=io.BytesIO(body),
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
    )
    assert response.status_code == 200
    answer = response.get_json()  # read whole: the same answer as the body sent at once
    assert [card["indicator"] for card in answer["cards"]] == ["warning"]
    assert [a["resource"]["id"] for a in answer["systemActions"]] == ["r1"]
    plain = client.post("/cds-services/order-sign", data=body, content_type="application/json")
    assert [c["summary"] for c in plain.get_json()["cards"]] == [
        c["summary"] for c in answer["cards"]
    ]


@pytest.mark.parametrize(("where", "field"), [((), "hookInstance"), (("context",), "patientId")])
def test_ids_too_long_for_the_store_are_a_400(
    client: FlaskClient, where: tuple[str, ...], field: str
) -> None:
    body = hook_request("order-sign", [order("r1")])
    target = body
    for key in where:
        target = target[key]
    target[field] = "x" * 201
    assert_outcome(post(client, "order-sign", body), 400, field)


@pytest.mark.parametrize("field", ["hookInstance", "patientId"])
def test_nul_characters_in_stored_ids_are_a_400(client: FlaskClient, field: str) -> None:
    body = hook_request("order-sign", [order("r1")])
    (body if field == "hookInstance" else body["context"])[field] = "p\u0000"
    assert_outcome(post(client, "order-sign", body), 400, "NUL")
