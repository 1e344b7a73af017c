"""Feedback, the audit trail, order-sign after an override, and the report."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from support.builders import ICD10CM, coded, condition, load
from support.clock import NOW

from cds_service.cli import main
from cds_service.ops.tables import Feedback
from cds_service.web.state import app_state


def sandbox_call(client: FlaskClient, hook: str, patient: str) -> dict[str, Any]:
    """The sandbox's imaging request for a patient of the test's own."""
    body = load("scenarios/sandbox-imaging-screen.json")
    body["hook"] = hook
    body["hookInstance"] = str(uuid.uuid4())
    body["context"]["patientId"] = patient
    body["prefetch"]["patient"]["id"] = patient
    if hook == "order-sign":
        del body["context"]["selections"]
    response = client.post(f"/cds-services/{hook}", json=body)
    assert response.status_code == 200
    result: dict[str, Any] = response.get_json()
    return result


def feedback(client: FlaskClient, entry: dict[str, Any], service: str = "order-select") -> Any:
    return client.post(f"/cds-services/{service}/feedback", json={"feedback": [entry]})


def overridden(card: str, code: str = "patient-preference") -> dict[str, Any]:
    return {
        "card": card,
        "outcome": "overridden",
        "outcomeTimestamp": "2026-11-23T12:01:00Z",
        "overrideReason": {
            "reason": {
                "system": "https://cds-service.example/CodeSystem/imaging-override-reason",
                "code": code,
                "display": "Patient preference",
            },
            "userComment": "patient details the store must not keep",
        },
    }


def test_feedback_round_trip_and_report(
    client: FlaskClient, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["report"])
    assert capsys.readouterr().out == "No hook calls recorded yet.\n"  # a store of its own
    card = sandbox_call(client, "order-select", f"pat-{uuid.uuid4()}")["cards"][0]
    suggestion = card["suggestions"][0]["uuid"]
    accepted = {
        "card": card["uuid"],
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": suggestion}],
        "outcomeTimestamp": "2026-11-23T12:00:30Z",
    }
    first = feedback(client, accepted)
    assert first.status_code == 200 and first.get_json() == {"received": 1, "new": 1}
    second = feedback(client, overridden(card["uuid"]))
    assert second.get_json() == {"received": 1, "new": 1}
    duplicate = feedback(client, overridden(card["uuid"]))
    assert duplicate.status_code == 200 and duplicate.get_json() == {"received": 1, "new": 0}

    main(["report"])
    after = capsys.readouterr().out
    assert "order-select" in after and "usually-not-appropriate" in after
    assert "override reason: Patient preference" in after
    store = app_state(client.application).store
    with store.database.sessions() as session:
        kept = session.query(Feedback).filter_by(card_uuid=card["uuid"]).all()
    assert len(kept) == 2
    assert all(not row.override_display or row.has_user_comment for row in kept)
    assert "patient details" not in repr([row.__dict__ for row in kept])


def test_report_counts_by_service_and_rating(client: FlaskClient) -> None:
    store = app_state(client.application).store

    assert store.report() == []
    card = sandbox_call(client, "order-select", f"pat-{uuid.uuid4()}")["cards"][0]
    feedback(client, overridden(card["uuid"], code="mri-contraindicated"))
    assert store.report() == [
        {
            "service": "order-select",
            "rating": "usually-not-appropriate",
            "calls": 1,
            "orders": 1,
            "cards": 1,
            "accepted": 0,
            "overridden": 1,
            "reasons": {"Patient preference": 1},
        }
    ]


def test_a_card_overridden_at_order_select_is_not_shown_again_at_order_sign(
    client: FlaskClient,
) -> None:
    patient = f"pat-{uuid.uuid4()}"
    selected = sandbox_call(client, "order-select", patient)
    assert feedback(client, overridden(selected["cards"][0]["uuid"])).status_code == 200
    signed = sandbox_call(client, "order-sign", patient)
    assert signed["cards"] == []
    assert signed["systemActions"][0]["resource"]["id"] == "example-request-id"
    # another patient's order with the same id still gets its card
    assert len(sandbox_call(client, "order-sign", f"pat-{uuid.uuid4()}")["cards"]) == 1


def test_an_override_does_not_hide_a_different_order_under_the_same_id(
    client: FlaskClient,
) -> None:
    """The sandbox reuses one order id: an MRI overridden at order-select must not silence a
    CT drafted later under that id."""
    patient = f"pat-{uuid.uuid4()}"
    body = load("scenarios/sandbox-imaging-screen.json")
    body["context"]["patientId"] = patient
    body["prefetch"]["patient"]["id"] = patient
    mri = body["context"]["draftOrders"]["entry"][0]["resource"]["code"]["coding"][0]
    mri.update(code="72141", display="MRI cervical spine without contrast")
    card = client.post("/cds-services/order-select", json=body).get_json()["cards"][0]
    assert card["indicator"] == "info"
    feedback(client, overridden(card["uuid"]))
    signed = sandbox_call(client, "order-sign", patient)  # the CT, same id
    assert [c["indicator"] for c in signed["cards"]] == ["warning"]


def test_an_override_is_forgotten_after_a_day(
    client: FlaskClient, make_client: Callable[..., FlaskClient]
) -> None:
    patient = f"pat-{uuid.uuid4()}"
    card = sandbox_call(client, "order-select", patient)["cards"][0]
    feedback(client, overridden(card["uuid"]))
    later = make_client(now=NOW + timedelta(days=2))
    assert len(sandbox_call(later, "order-sign", patient)["cards"]) == 1


def test_an_override_sent_to_order_sign_feedback_hides_nothing(client: FlaskClient) -> None:
    patient = f"pat-{uuid.uuid4()}"
    card = sandbox_call(client, "order-select", patient)["cards"][0]
    feedback(client, overridden(card["uuid"]), service="order-sign")
    assert len(sandbox_call(client, "order-sign", patient)["cards"]) == 1


def test_accepted_feedback_does_not_hide_the_card_at_order_sign(client: FlaskClient) -> None:
    patient = f"pat-{uuid.uuid4()}"
    card = sandbox_call(client, "order-select", patient)["cards"][0]
    feedback(
        client,
        {
            "card": card["uuid"],
            "outcome": "accepted",
            "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}],
            "outcomeTimestamp": "2026-11-23T12:00:30Z",
        },
    )
    assert len(sandbox_call(client, "order-sign", patient)["cards"]) == 1


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({}, "feedback: Field required"),
        ({"feedback": []}, "at least 1 item"),
        (
            {
                "feedback": [
                    {"card": "x", "outcome": "ignored", "outcomeTimestamp": "2026-11-23T12:00:00Z"}
                ]
            },
            "feedback.0.outcome",
        ),
        (
            {
                "feedback": [
                    {"card": "x", "outcome": "accepted", "outcomeTimestamp": "2026-11-23T12:00:00Z"}
                ]
            },
            "acceptedSuggestions: required",
        ),
        (
            {"feedback": [{"outcome": "overridden", "outcomeTimestamp": "2026-11-23T12:00:00Z"}]},
            "feedback.0.card",
        ),
    ],
)
def test_invalid_feedback_is_a_400(client: FlaskClient, body: Any, why: str) -> None:
    response = client.post("/cds-services/order-select/feedback", json=body)
    assert response.status_code == 400
    assert why in response.get_json()["issue"][0]["diagnostics"]


def test_feedback_for_an_unknown_service_is_a_404(client: FlaskClient) -> None:
    response = feedback(client, overridden("x"), service="nope")
    assert response.status_code == 404


def test_db_upgrade_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    assert "up to date" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("card", "c" * 65),
        ("outcomeTimestamp", "t" * 65),
        ("outcomeTimestamp", "yesterday"),
        ("outcomeTimestamp", "2026-11-23T12:00:00"),
    ],
)
def test_feedback_values_the_store_cannot_keep_are_a_400(
    client: FlaskClient, field: str, value: str
) -> None:
    entry = {**overridden("x"), field: value}
    response = feedback(client, entry)
    assert response.status_code == 400
    assert field in response.get_json()["issue"][0]["diagnostics"]


def test_the_same_instant_spelled_twice_is_one_entry(client: FlaskClient) -> None:
    card = sandbox_call(client, "order-select", f"pat-{uuid.uuid4()}")["cards"][0]
    first = {**overridden(card["uuid"]), "outcomeTimestamp": "2026-11-23T12:01:00Z"}
    second = {**overridden(card["uuid"]), "outcomeTimestamp": "2026-11-23T13:01:00+01:00"}
    assert feedback(client, first).get_json()["new"] == 1
    assert feedback(client, second).get_json()["new"] == 0


def call_with(
    client: FlaskClient, hook: str, patient: str, conditions: list[dict[str, Any]]
) -> dict[str, Any]:
    body = load("scenarios/sandbox-imaging-screen.json")
    body["hook"] = hook
    body["hookInstance"] = str(uuid.uuid4())
    body["context"]["patientId"] = patient
    body["prefetch"]["patient"]["id"] = patient
    body["prefetch"]["conditions"] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {"resource": {**c, "subject": {"reference": f"Patient/{patient}"}}} for c in conditions
        ],
    }
    if hook == "order-sign":
        del body["context"]["selections"]
    response = client.post(f"/cds-services/{hook}", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    result: dict[str, Any] = response.get_json()
    return result


RADICULOPATHY, OLD_DEFICIT, NEW_DEFICIT, FEVER = (
    condition(f"c-{code}", coded(ICD10CM, code, display), patient=None, onsetDateTime=onset)
    for code, display, onset in (
        ("M54.12", "Radiculopathy, cervical region", "2026-06-01"),
        ("R26.89", "Other abnormalities of gait and mobility", "2019-01-01"),
        ("G95.20", "Unspecified cord compression", "2026-11-20"),
        ("R50.9", "Fever, unspecified", "2026-11-21"),
    )
)


def test_an_override_hides_only_the_same_advice(client: FlaskClient) -> None:
    """Overriding "outside the variant: radiculopathy" at order-select does not hide the card
    at order-sign once a fever is also on record: the card says something new."""
    patient = f"pat-{uuid.uuid4()}"
    card = call_with(client, "order-select", patient, [RADICULOPATHY])["cards"][0]
    assert card["indicator"] == "info"
    feedback(client, overridden(card["uuid"]))
    assert call_with(client, "order-sign", patient, [RADICULOPATHY])["cards"] == []
    again = call_with(client, "order-sign", patient, [RADICULOPATHY, FEVER])["cards"]
    assert [c["indicator"] for c in again] == ["info"]
    assert "fever" in again[0]["summary"].casefold()


def test_an_override_never_hides_an_escalation_warning(client: FlaskClient) -> None:
    """A longstanding deficit's info card overridden at order-select; by order-sign a new cord
    compression is on record: the urgent escalation warning is shown."""
    patient = f"pat-{uuid.uuid4()}"
    card = call_with(client, "order-select", patient, [OLD_DEFICIT])["cards"][0]
    assert card["indicator"] == "info"
    feedback(client, overridden(card["uuid"]))
    signed = call_with(client, "order-sign", patient, [OLD_DEFICIT, NEW_DEFICIT])["cards"]
    assert [c["indicator"] for c in signed] == ["warning"]
    assert "urgent escalation" in signed[0]["summary"]


def test_an_overridden_escalation_warning_is_shown_again(client: FlaskClient) -> None:
    patient = f"pat-{uuid.uuid4()}"
    card = call_with(client, "order-select", patient, [NEW_DEFICIT])["cards"][0]
    assert card["indicator"] == "warning"
    feedback(client, overridden(card["uuid"]))
    signed = call_with(client, "order-sign", patient, [NEW_DEFICIT])["cards"]
    assert [c["indicator"] for c in signed] == ["warning"]
