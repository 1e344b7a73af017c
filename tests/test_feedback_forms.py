"""Feedback in every form an EHR sends: the specification's ``overrideReason``, Epic's
``overrideReasons`` (a ``reason`` coding, or its extension's category and display), each
stored as code, system and display; the comment never; a malformed one is a 400."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient
from support.builders import load

from cds_service.ops.report_views import full_report
from cds_service.ops.tables import Feedback
from cds_service.protocol import EPIC_REASON_KEY
from cds_service.web.state import app_state

EPIC_FEEDBACK = (
    "epic/epic-feedback-accepted.json",
    "epic/epic-feedback-override-reason.json",
    "epic/epic-feedback-override-extension.json",
)


def epic_card(client: FlaskClient) -> dict[str, Any]:
    body = load("epic/epic-order-select-ct.json")
    body["hookInstance"] = str(uuid.uuid4())
    response = client.post("/cds-services/order-select", json=body)
    assert response.status_code == 200
    card: dict[str, Any] = response.get_json()["cards"][0]
    return card


def for_card(fixture: str, card: dict[str, Any]) -> dict[str, Any]:
    """The fixture's feedback, about ``card`` (and its first suggestion)."""
    body: dict[str, Any] = copy.deepcopy(load(fixture))
    for entry in body["feedback"]:
        entry["card"] = card["uuid"]
        for accepted in entry.get("acceptedSuggestions", []):
            accepted["id"] = card["suggestions"][0]["uuid"]
    return body


def stored(client: FlaskClient, card: str) -> list[Feedback]:
    store = app_state(client.application).store
    with store.database.sessions() as session:
        return list(
            session.query(Feedback).filter_by(card_uuid=card).order_by(Feedback.outcome_timestamp)
        )


def test_epic_s_three_feedback_examples_are_stored_with_their_reasons(
    client: FlaskClient,
) -> None:
    card = epic_card(client)
    for fixture in EPIC_FEEDBACK:
        response = client.post("/cds-services/order-select/feedback", json=for_card(fixture, card))
        assert response.status_code == 200 and response.get_json() == {"received": 1, "new": 1}
    accepted, coded, extension = stored(client, card["uuid"])
    assert accepted.outcome == "accepted" and accepted.override_code is None
    assert (coded.override_system, coded.override_code, coded.override_display) == (
        "https://cds-service.example/CodeSystem/imaging-override-reason",
        "patient-preference",
        "Patient preference",
    )
    assert (extension.override_system, extension.override_code) == (EPIC_REASON_KEY, "3")
    assert extension.override_display == "Not clinically appropriate"
    assert coded.has_user_comment and extension.has_user_comment
    kept = repr([row.__dict__ for row in (accepted, coded, extension)])
    assert "declines MRI" not in kept and "See my note" not in kept


def test_epic_s_reasons_end_up_in_the_report(client: FlaskClient) -> None:
    card = epic_card(client)
    for fixture in EPIC_FEEDBACK:
        client.post("/cds-services/order-select/feedback", json=for_card(fixture, card))
    store = app_state(client.application).store
    report = full_report(store.database)
    reasons = {(r["code"], r["display"]): r["overridden"] for r in report["override_reasons"]}
    assert reasons == {
        ("patient-preference", "Patient preference"): 1,
        ("3", "Not clinically appropriate"): 1,
    }
    (line,) = report["by_service_and_rating"]
    counts = (line["rating"], line["accepted"], line["overridden"])
    assert counts == ("usually-not-appropriate", 1, 2)


def override(**fields: Any) -> dict[str, Any]:
    return {
        "feedback": [
            {
                "card": "c-1",
                "outcome": "overridden",
                "outcomeTimestamp": "2026-11-23T12:01:00Z",
                **fields,
            }
        ]
    }


def test_the_specification_s_form_wins_over_epic_s_when_both_are_sent(
    client: FlaskClient,
) -> None:
    body = override(
        overrideReason={"reason": {"system": "s", "code": "spec", "display": "Spec"}},
        overrideReasons={"reason": {"system": "s", "code": "epic", "display": "Epic"}},
    )
    assert client.post("/cds-services/order-select/feedback", json=body).status_code == 200
    (row,) = stored(client, "c-1")
    assert row.override_code == "spec"


def test_a_list_of_epic_reasons_keeps_the_first_given(client: FlaskClient) -> None:
    body = override(overrideReasons=[{"userComment": "x"}, {"reason": {"code": "second"}}])
    assert client.post("/cds-services/order-select/feedback", json=body).status_code == 200
    (row,) = stored(client, "c-1")
    assert (row.override_code, row.has_user_comment) == ("second", True)


def test_an_extension_with_a_title_only_keeps_the_title_as_display(client: FlaskClient) -> None:
    ext = {f"{EPIC_REASON_KEY}.reasonTitle": "Clinical judgement"}
    body = override(overrideReasons={"extension": ext})
    assert client.post("/cds-services/order-select/feedback", json=body).status_code == 200
    (row,) = stored(client, "c-1")
    assert (row.override_code, row.override_display) == (None, "Clinical judgement")


@pytest.mark.parametrize(
    ("reasons", "where"),
    [
        ("patient preference", "overrideReasons"),
        (42, "overrideReasons"),
        ({"reason": "patient-preference"}, "overrideReasons"),
        ({"reason": {"display": "no code"}}, "code"),
        ({"reason": {"code": "x" * 101}}, "code"),
        ({"userComment": {"text": "not a string"}}, "userComment"),
        ({"extension": ["not", "an", "object"]}, "extension"),
        ({"extension": {f"{EPIC_REASON_KEY}.reasonCategory": ["3"]}}, "reasonCategory"),
        ({"extension": {f"{EPIC_REASON_KEY}.reasonDisplay": "d" * 301}}, "reasonDisplay"),
        ({"extension": {f"{EPIC_REASON_KEY}.reasonCategory": "a\x00b"}}, "reasonCategory"),
        ({"extension": {f"{EPIC_REASON_KEY}.reasonCategory": 10**101}}, "reasonCategory"),
        ([{"reason": {"code": "ok"}}] * 21, "overrideReasons"),
    ],
)
def test_malformed_epic_feedback_is_a_400_operation_outcome(
    client: FlaskClient, reasons: Any, where: str
) -> None:
    response = client.post(
        "/cds-services/order-select/feedback", json=override(overrideReasons=reasons)
    )
    assert response.status_code == 400
    body = response.get_json()
    assert body["resourceType"] == "OperationOutcome"
    assert where in json.dumps(body["issue"][0])
    assert stored(client, "c-1") == []


ODD_VALUES: list[Any] = [None, True, 3, 3.5, 10**30, "", "x" * 400, [], {}, ["3"], "\x00"]


def odd_shapes() -> list[Any]:
    """Every odd value in every place of Epic's form."""
    shapes: list[Any] = []
    for v in ODD_VALUES:
        shapes += [
            v,
            {"reason": v},
            {"userComment": v},
            {"extension": v},
            {"extension": {f"{EPIC_REASON_KEY}.reasonCategory": v}},
            {"extension": {f"{EPIC_REASON_KEY}.reasonDisplay": v}},
            {"reason": {"code": v}},
            {"reason": {"code": "c", "system": v}},
            [{"reason": {"code": "c"}}, v],
        ]
    return shapes


def test_no_shape_of_epic_s_form_is_a_500(client: FlaskClient) -> None:
    answers = set()
    for index, shape in enumerate(odd_shapes()):
        body = override(overrideReasons=shape)
        body["feedback"][0]["card"] = f"c-{index}"
        response = client.post("/cds-services/order-select/feedback", json=body)
        answers.add(response.status_code)
        if response.status_code != 200:
            assert response.get_json()["resourceType"] == "OperationOutcome"
    assert answers == {200, 400}
