"""Inputs found in review that once broke the service or its rules, each kept as a test."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import pytest
import responses
from flask.testing import FlaskClient
from support.builders import (
    CGH,
    ICD10CM,
    LOINC,
    adult_prefetch,
    hook_request,
    order,
    searchset,
)
from support.clock import NOW
from support.conformance import assert_conforms
from support.pama import pama_of

from cds_service import create_app
from cds_service.record.relevance import TEXT_KEY_MAX_CHARS, Relevance
from cds_service.web.state import app_state

VER_STATUS = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
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


def request(
    conditions: Any = None, observations: Any = None, orders: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """An order-sign of a cervical CT for an adult whose record is ``conditions`` and
    ``observations``."""
    prefetch = adult_prefetch(conditions=conditions, observations=observations)
    return hook_request("order-sign", orders or [order("ct-1", code="72125")], prefetch=prefetch)


def with_changes(resource: dict[str, Any], **changes: Any) -> dict[str, Any]:
    changed = copy.deepcopy(resource)
    changed.update(changes)
    return changed


def without(resource: dict[str, Any], name: str) -> dict[str, Any]:
    changed = copy.deepcopy(resource)
    del changed[name]
    return changed


def nested_extension(depth: int) -> dict[str, Any]:
    extension: dict[str, Any] = {"url": "http://example.org/x", "valueString": "x"}
    for _ in range(depth):
        extension = {"url": "http://example.org/x", "extension": [extension]}
    return extension


MALFORMED = {
    "coding code is a list": request(
        observations=searchset(
            with_changes(TEMPERATURE, code={"coding": [{"system": LOINC, "code": []}]})
        )
    ),
    "effectivePeriod is a string": request(
        observations=searchset(
            with_changes(TEMPERATURE, effectiveDateTime=None, effectivePeriod="x")
        )
    ),
    "Observation status is a list": request(
        observations=searchset(with_changes(TEMPERATURE, status=[]))
    ),
    "onsetPeriod is a list": request(
        conditions=searchset(with_changes(RADICULOPATHY, onsetPeriod=["x"]))
    ),
    "abatementPeriod is a string": request(
        conditions=searchset(with_changes(RADICULOPATHY, abatementPeriod="x"))
    ),
    "code.coding is a number": request(
        conditions=searchset(with_changes(RADICULOPATHY, code={"coding": 5}))
    ),
    "a draft Condition whose coding is a number": request(
        orders=[
            order("ct-1", code="72125"),
            {"resourceType": "Condition", "id": "c9", "code": {"coding": 5}},
        ]
    ),
    "Bundle.link is a number": request(conditions=searchset(link=5)),
    "reasonCode is an object": request(
        orders=[order("ct-1", code="72125", reasonCode={"coding": []})]
    ),
    "contained is a string": request(orders=[order("ct-1", code="72125", contained="x")]),
    # each of these was a 500 (RecursionError, KeyError, OverflowError, TypeError, ValueError)
    "extensions nested 140 deep": request(
        conditions=searchset(with_changes(RADICULOPATHY, extension=[nested_extension(140)]))
    ),
    "contained of an unknown type": request(
        conditions=searchset(
            with_changes(RADICULOPATHY, contained=[{"resourceType": "Nope", "id": "x"}])
        )
    ),
    "a draft order with a contained unknown type": request(
        orders=[order("ct-1", code="72125", contained=[{"resourceType": "Nope", "id": "x"}])]
    ),
    "a quantity of 400 digits": request(
        observations=searchset(
            with_changes(TEMPERATURE, valueQuantity={"value": 10**400, "code": "Cel"})
        )
    ),
    "a coding system that is an object": request(
        observations=searchset(
            with_changes(TEMPERATURE, code={"coding": [{"system": {"a": 1}, "code": "8310-5"}]})
        )
    ),
    # the same shapes, attacked both ways
    "a temperature with no time at all": request(
        observations=searchset(without(TEMPERATURE, "effectiveDateTime"))
    ),
    "code is a number": request(conditions=searchset(with_changes(RADICULOPATHY, code=5))),
    # the lead's attacks one level deeper (first rule): a code of another wrong shape
    "code is a list": request(
        conditions=searchset(with_changes(RADICULOPATHY, code=[RADICULOPATHY["code"]]))
    ),
    "codings whose codes are objects": request(
        conditions=searchset(
            with_changes(RADICULOPATHY, code={"coding": [{"system": "x", "code": {"v": 1}}]})
        )
    ),
    "a link whose relation is a number": request(
        conditions=searchset(link=[{"relation": 5, "url": "https://ehr.example/fhir/x"}])
    ),
    "code.coding is a string": request(
        conditions=searchset(with_changes(RADICULOPATHY, code={"coding": "M54.12"}))
    ),
    "a resolved Condition whose coding is a number": request(
        conditions=searchset(
            with_changes(
                RADICULOPATHY, code={"coding": 5}, clinicalStatus={"coding": [{"code": "resolved"}]}
            )
        )
    ),
    "a refuted Condition whose coding is a number": request(
        conditions=searchset(
            with_changes(
                RADICULOPATHY,
                code={"coding": 5},
                verificationStatus={"coding": [{"system": VER_STATUS, "code": "refuted"}]},
            )
        )
    ),
    "a Condition with no code": request(conditions=searchset(without(RADICULOPATHY, "code"))),
    "a readable Condition of no finding": request(
        conditions=searchset(
            with_changes(RADICULOPATHY, code={"coding": [{"system": ICD10CM, "code": "I10"}]})
        )
    ),
    "a draft Condition of no finding": request(
        orders=[
            order("ct-1", code="72125"),
            with_changes(
                RADICULOPATHY, id="c9", code={"coding": [{"system": ICD10CM, "code": "I10"}]}
            ),
        ]
    ),
    "Bundle.link is an object": request(conditions=searchset(link={"relation": "next"})),
    "a next link whose url is a number": request(
        conditions=searchset(link=[{"relation": "next", "url": 5}])
    ),
    "a link that is a string": request(conditions=searchset(link=["next"])),
    "a self link only": request(
        conditions=searchset(link=[{"relation": "self", "url": "https://ehr.example/fhir/x"}])
    ),
    "a draft order with an empty contained": request(
        orders=[order("ct-1", code="72125", contained=[])]
    ),
    "a draft order whose reason refers to a contained unknown type": request(
        orders=[
            order(
                "ct-1",
                code="72125",
                contained=[{"resourceType": "Nope", "id": "x"}],
                reasonReference=[{"reference": "#x"}],
            )
        ]
    ),
}


@pytest.mark.parametrize(("name", "body"), MALFORMED.items(), ids=MALFORMED.keys())
def test_malformed_record_parts_never_cost_a_500(
    client: FlaskClient, name: str, body: dict[str, Any]
) -> None:
    response = client.post("/cds-services/order-sign", json=body)
    if ANSWERS[name] == MISSING and response.status_code == 412:  # the data counted as missing
        assert "prefetch key 'conditions'" in response.get_json()["issue"][0]["diagnostics"]
        return
    assert response.status_code == 200, response.get_data(as_text=True)
    assert_conforms(response.get_json())


# ---------------------------------------------- the clinical answer to a malformed record part
# Written from the product's rules and the clinical reference, not from the program's output.
# Each request above orders a cervical CT (Usually not appropriate in the variant) for an
# adult whose order gives cervicogenic headache as the reason.

RATED = "rated"
"""Second rule: the malformed part cannot change the answer (a normal temperature's code, date
or status; resources nothing refers to): the CT is rated Usually not appropriate."""
FAILS_SAFE = "fails safe"
"""First rule: the malformed part could hold an exclusion or the indication; whatever else the
answer says, it never rates the order Usually not appropriate."""
MISSING = "missing"
"""First rule, the data counted as missing: a 412 naming the key (no FHIR server here), or an
answer that never rates the order Usually not appropriate."""

FEVER = with_changes(TEMPERATURE, valueQuantity={"value": 39.5, "code": "Cel"})
"""A fever (>= 38.0 Cel, clinical reference) the day before the order: outside the variant."""

MALFORMED_FEVER = {
    "a fever whose coding code is a list": request(
        observations=searchset(
            with_changes(FEVER, code={"coding": [{"system": LOINC, "code": []}]})
        )
    ),
    "a fever whose status is a list": request(
        observations=searchset(with_changes(FEVER, status=[]))
    ),
    "a fever whose effectivePeriod is a string": request(
        observations=searchset(with_changes(FEVER, effectiveDateTime=None, effectivePeriod="x"))
    ),
    "a fever with no time at all": request(
        observations=searchset(without(FEVER, "effectiveDateTime"))
    ),
    "a fever whose time is no date": request(
        observations=searchset(with_changes(FEVER, effectiveDateTime="yesterday"))
    ),
    "a fever of last year": request(
        observations=searchset(with_changes(FEVER, effectiveDateTime="2025-11-22T08:00:00Z"))
    ),
}

ANSWERS = {
    # a normal temperature (36.8 Cel): whatever its code, date or status, it is no fever
    "coding code is a list": RATED,
    "effectivePeriod is a string": RATED,
    "Observation status is a list": RATED,
    "a coding system that is an object": RATED,
    # 10**400 Cel is no human temperature: not read, as "record-temp-no-unit-implausible"
    # (tests/scenarios.yaml) reads a temperature of 60 with no unit
    "a quantity of 400 digits": RATED,
    # an active radiculopathy (M54.12): its dates or extensions do not make it absent
    "onsetPeriod is a list": FAILS_SAFE,
    "abatementPeriod is a string": FAILS_SAFE,
    "extensions nested 140 deep": FAILS_SAFE,
    "contained of an unknown type": FAILS_SAFE,
    # an active Condition whose code cannot be read could be any exclusion
    "code.coding is a number": FAILS_SAFE,
    "a draft Condition whose coding is a number": FAILS_SAFE,
    # links that cannot be read may hold a next page: the conditions may be incomplete
    "Bundle.link is a number": MISSING,
    # the order's reason cannot be read: the indication is not established
    "reasonCode is an object": FAILS_SAFE,
    # contained resources nothing refers to cannot change the answer
    "contained is a string": RATED,
    "a draft order with a contained unknown type": RATED,
    # a fever's code or status that cannot be read leaves the fever; an unreadable date may
    # be yesterday's
    "a fever whose coding code is a list": FAILS_SAFE,
    "a fever whose status is a list": FAILS_SAFE,
    "a fever whose effectivePeriod is a string": FAILS_SAFE,
    "a fever with no time at all": FAILS_SAFE,
    "a fever whose time is no date": FAILS_SAFE,
    # a fever dated outside the look-back is no red flag today
    "a fever of last year": RATED,
    "a temperature with no time at all": RATED,
    # a code of a shape that yields no code or text could be any exclusion, whatever its
    # clinical status (a history of malignancy counts); a refuted one is no finding
    "code is a number": FAILS_SAFE,
    "code is a list": FAILS_SAFE,
    "codings whose codes are objects": FAILS_SAFE,
    "a link whose relation is a number": MISSING,
    "code.coding is a string": FAILS_SAFE,
    "a resolved Condition whose coding is a number": FAILS_SAFE,
    "a refuted Condition whose coding is a number": RATED,
    # a Condition with no code, or a readable code of no finding, says nothing of the variant
    "a Condition with no code": RATED,
    "a readable Condition of no finding": RATED,
    "a draft Condition of no finding": RATED,
    "Bundle.link is an object": MISSING,
    "a next link whose url is a number": MISSING,
    "a link that is a string": MISSING,
    "a self link only": RATED,
    "a draft order with an empty contained": RATED,
    # a reason that refers to what cannot be read: not rated (the order's reason is unknown)
    "a draft order whose reason refers to a contained unknown type": FAILS_SAFE,
}

WRONG_TODAY: dict[str, str] = {}
"""The answers the program gets wrong today (strict xfails: a fix makes them fail, so that
they are taken off this list)."""


def says_not_appropriate(answer: dict[str, Any]) -> bool:
    """A card or a rating of the answer says Usually not appropriate."""
    summaries = [card["summary"] for card in answer["cards"]]
    ratings = [c["code"] for action in answer.get("systemActions", []) for c in pama_of(action)]
    return "not-appropriate" in ratings or any("Usually not appropriate" in s for s in summaries)


def _answer_case(name: str, body: dict[str, Any]) -> Any:
    reason = WRONG_TODAY.get(name)
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(body, ANSWERS[name], id=name, marks=marks)


@pytest.mark.parametrize(
    ("body", "expected"),
    [_answer_case(name, body) for name, body in {**MALFORMED, **MALFORMED_FEVER}.items()],
)
def test_a_malformed_record_part_gets_the_clinical_answer_of_the_rules(
    scenario_client: FlaskClient, body: dict[str, Any], expected: str
) -> None:
    response = scenario_client.post("/cds-services/order-sign", json=body)
    if expected == MISSING and response.status_code == 412:
        assert "prefetch key 'conditions'" in response.get_json()["issue"][0]["diagnostics"]
        return
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()
    assert_conforms(answer)
    assert says_not_appropriate(answer) is (expected == RATED), answer["cards"]


def test_every_malformed_case_has_an_expected_answer() -> None:
    assert set(ANSWERS) == set(MALFORMED) | set(MALFORMED_FEVER)
    assert set(WRONG_TODAY) <= set(ANSWERS)


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
    assert indicators(scenario_client, request(conditions=searchset(deficit))) == ["warning"]


def test_a_radiculopathy_resolved_this_year_still_excludes(scenario_client: FlaskClient) -> None:
    resolved = with_changes(
        RADICULOPATHY, clinicalStatus={"coding": [{"code": "resolved"}]}, abatementDateTime="2026"
    )
    assert indicators(scenario_client, request(conditions=searchset(resolved))) == ["info"]


def test_a_prefetch_bundle_carrying_an_error_is_not_a_complete_record(
    client: FlaskClient,
) -> None:
    failed = searchset(
        {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "exception"}]}
    )
    response = client.post("/cds-services/order-sign", json=request(conditions=failed))
    assert response.status_code == 412
    assert "'conditions' is an OperationOutcome" in response.get_json()["issue"][0]["diagnostics"]


def test_a_search_warning_in_a_prefetch_bundle_is_fine(client: FlaskClient) -> None:
    warned = searchset(
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
    assert indicators(scenario_client, request(conditions=searchset(refuted), orders=[ct])) == []


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
    mock.get(f"{BASE}/Condition", json=searchset())
    client.post(
        "/cds-services/order-sign", json=conditions_from_the_server("../../admin/secrets?x=")
    )
    assert mock.calls, "the Condition search was made"
    for call in mock.calls:
        assert str(call.request.url).startswith(f"{BASE}/Condition?patient=..%2F..%2Fadmin")


def test_a_next_link_to_another_path_on_the_same_host_is_not_followed(
    mock: responses.RequestsMock,
) -> None:
    client = create_app({"CDS_FHIR_ALLOWLIST": BASE}).test_client()
    mock.get(
        f"{BASE}/Condition",
        json=searchset(
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
    assert indicators(scenario_client, request(conditions=searchset(theirs))) == ["warning"]
    ours = with_changes(
        RADICULOPATHY, subject={"reference": "https://ehr.example.org/fhir/Patient/p1"}
    )
    assert indicators(scenario_client, request(conditions=searchset(ours))) == ["info"]
    body = request()
    body["prefetch"]["patient"]["id"] = "someone-else"  # not this patient: age unknown
    assert indicators(scenario_client, body) == ["info"]


def test_a_birth_date_in_december_9999_is_read(client: FlaskClient) -> None:
    body = request()
    body["prefetch"]["patient"]["birthDate"] = "9999-12"
    response = client.post("/cds-services/order-sign", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)


@pytest.mark.parametrize("instant", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00"])
def test_a_feedback_instant_at_the_ends_of_the_calendar_is_a_400(
    client: FlaskClient, instant: str
) -> None:
    entry = {"card": "c", "outcome": "overridden", "outcomeTimestamp": instant}
    response = client.post("/cds-services/order-select/feedback", json={"feedback": [entry]})
    assert response.status_code == 400
    assert "outcomeTimestamp" in response.get_json()["issue"][0]["diagnostics"]


def test_long_non_ascii_suggestion_ids_fit_the_store_column() -> None:
    """PostgreSQL refuses a value longer than the column (2,000): ASCII-escaped JSON of 20
    ids of 64 non-ASCII characters was 7,760 characters long."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from cds_service.ops.feedback import FeedbackRow
    from cds_service.ops.tables import Feedback

    app = create_app({"TESTING": True})
    store = app_state(app).store
    card = f"card-{uuid.uuid4()}"
    ids = tuple(f"{i:02d}" + "é" * 62 for i in range(20))
    row = FeedbackRow(card, "accepted", "2026-11-23T12:00:00+00:00", accepted_suggestions=ids)
    assert (
        store.feedback.record("order-select", [row], datetime.now(UTC), remember_overrides=True)
        == 1
    )
    with store.engine.connect() as connection:
        kept = connection.execute(
            select(Feedback.accepted_suggestions).where(Feedback.card_uuid == card)
        ).scalar_one()
    assert kept is not None and len(kept) <= 2000 and json.loads(kept) == list(ids)


def test_an_override_already_remembered_by_a_concurrent_call_keeps_the_feedback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two overrides of one card at once: the second finds no remembered override yet, then
    inserts one after the first did. The feedback row must survive (insert ... on conflict)."""
    from sqlalchemy import insert
    from sqlalchemy.orm import Session

    from cds_service.ops.tables import OverriddenOrder

    app = create_app({"TESTING": True}, clock=lambda: NOW)
    client = app.test_client()
    patient = f"pat-{uuid.uuid4()}"
    body = request(orders=[order("ct-1", code="72125")])
    body["hook"], body["hookInstance"] = "order-select", str(uuid.uuid4())
    body["context"]["patientId"] = body["prefetch"]["patient"]["id"] = patient
    body["context"]["selections"] = ["ServiceRequest/ct-1"]
    shown = client.post("/cds-services/order-select", json=body)
    assert shown.status_code == 200, shown.get_data(as_text=True)
    card = shown.get_json()["cards"][0]["uuid"]
    store = app_state(app).store
    with store.engine.begin() as connection:  # the concurrent call's row
        connection.execute(
            insert(OverriddenOrder).values(
                patient_id=patient,
                order_ref="ServiceRequest/ct-1",
                card_uuid=card,
                rating="x",
                overridden_at=NOW,
            )
        )
    monkeypatch.setattr(Session, "get", lambda *args, **kwargs: None)  # not seen yet
    entry = {"card": card, "outcome": "overridden", "outcomeTimestamp": "2026-11-23T12:01:00Z"}
    response = client.post("/cds-services/order-select/feedback", json={"feedback": [entry]})
    assert response.status_code == 200
    assert response.get_json()["new"] == 1


def test_a_rejected_resources_id_is_logged_only_when_it_is_a_fhir_id(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "Jane Doe, born 1980-01-01, MRN 12345 " * 20
    rejected = [
        with_changes(RADICULOPATHY, id=secret, clinicalStatus=5),
        with_changes(RADICULOPATHY, id="c-2.ok", clinicalStatus=5),
    ]
    with caplog.at_level("WARNING", logger="cds_service"):
        response = client.post(
            "/cds-services/order-sign", json=request(conditions=searchset(*rejected))
        )
    assert response.status_code == 200
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "Jane Doe" not in logged and "Condition/sha256:" in logged
    assert "Condition/c-2.ok" in logged


def test_draft_orders_over_the_limit_are_a_400_naming_it() -> None:
    client = create_app({"TESTING": True, "CDS_MAX_DRAFT_ORDERS": 5}).test_client()
    body = request(orders=[order(f"ct-{i}", code="72125") for i in range(6)])
    response = client.post("/cds-services/order-sign", json=body)
    assert response.status_code == 400
    assert "CDS_MAX_DRAFT_ORDERS" in response.get_json()["issue"][0]["diagnostics"]
    assert client.post("/cds-services/order-sign", json=request()).status_code == 200


def test_a_prefetch_key_over_the_resource_limit_is_a_400_naming_it() -> None:
    client = create_app({"TESTING": True, "CDS_MAX_PREFETCH_RESOURCES": 3}).test_client()
    body = request(conditions=searchset(*[RADICULOPATHY] * 4))
    response = client.post("/cds-services/order-sign", json=body)
    assert response.status_code == 400
    diagnostics = response.get_json()["issue"][0]["diagnostics"]
    assert "prefetch.conditions" in diagnostics and "CDS_MAX_PREFETCH_RESOURCES" in diagnostics


def test_the_relevance_memo_keeps_no_long_texts(app: Any) -> None:
    """Texts are remembered by the one pass only when short: 1 MB texts once grew each worker
    by hundreds of MB."""
    knowledge = app_state(app).dependencies.knowledge
    memo = knowledge.derived(Relevance)._texts
    texts = [f"{i} " + "x" * 100_000 for i in range(20)]
    conditions = [
        with_changes(RADICULOPATHY, id=f"c{i}", code={"text": t}) for i, t in enumerate(texts)
    ] + [with_changes(RADICULOPATHY, id="short", code={"text": "Chronic neck pain"})]
    response = app.test_client().post(
        "/cds-services/order-sign", json=request(conditions=searchset(*conditions))
    )
    assert response.status_code == 200
    assert memo  # the short texts of the record were remembered ...
    assert all(len(key) <= TEXT_KEY_MAX_CHARS for key in memo)  # ... and no long one


# ----------------------------------------------------------------- URLs and the FHIR server


def test_a_next_link_with_dot_segments_does_not_leave_the_base_path(
    mock: responses.RequestsMock,
) -> None:
    client = create_app({"CDS_FHIR_ALLOWLIST": BASE}).test_client()
    for escape in (f"{BASE}/../admin/x", f"{BASE}/%2e%2E/admin/x", f"{BASE}/./a/../../b"):
        mock.calls.reset()
        page = searchset(link=[{"relation": "next", "url": escape}])
        mock.upsert(responses.GET, f"{BASE}/Condition", json=page)
        response = client.post("/cds-services/order-sign", json=conditions_from_the_server())
        assert response.status_code == 412, escape
        assert [str(c.request.url).split("?")[0] for c in mock.calls] == [f"{BASE}/Condition"]


def test_a_prefetch_next_link_with_dot_segments_is_not_followed(
    mock: responses.RequestsMock,
) -> None:
    client = create_app({"CDS_FHIR_ALLOWLIST": BASE}).test_client()
    body = conditions_from_the_server()
    body["prefetch"]["conditions"] = searchset(
        link=[{"relation": "next", "url": f"{BASE}/../../admin/export"}]
    )
    response = client.post("/cds-services/order-sign", json=body)
    assert response.status_code == 412
    assert not mock.calls


@pytest.mark.parametrize(
    "server",
    [
        f"{BASE}/../tenant-b",
        f"{BASE}/%2E%2E/tenant-b",
        "https://u:p@gateway.example.org/fhir/tenant-a",
    ],
)
def test_a_fhir_server_outside_the_allowlist_after_normalisation_is_not_called(
    mock: responses.RequestsMock, server: str
) -> None:
    client = create_app({"CDS_FHIR_ALLOWLIST": BASE}).test_client()
    body = conditions_from_the_server()
    body["fhirServer"] = server
    assert client.post("/cds-services/order-sign", json=body).status_code == 412
    assert not mock.calls


def test_the_case_of_scheme_and_host_does_not_matter_to_the_allowlist(
    mock: responses.RequestsMock,
) -> None:
    client = create_app({"CDS_FHIR_ALLOWLIST": BASE}).test_client()
    mock.get(f"{BASE}/Condition", json=searchset())
    body = conditions_from_the_server()
    body["fhirServer"] = "HTTPS://Gateway.Example.org:443/fhir/tenant-a"
    assert client.post("/cds-services/order-sign", json=body).status_code == 200
