"""The hot path's pass (selection.py): what it keeps unread and what it must never drop."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from support.builders import LOINC, SNOMED, coded, condition, observation, record_of
from support.clock import NOW

from cds_service.appraisal.exclusions import patient_findings
from cds_service.clinical.knowledge_loader import load_knowledge
from cds_service.record.relevance import (
    MEMO_LIMIT,
    Relevance,
    observation_windows,
)
from cds_service.record.selection import Selector

KNOWLEDGE = load_knowledge()
TEMPERATURE = coded(LOINC, "8310-5")
WEIGHT = coded(LOINC, "29463-7")
HYPERTENSION = coded(SNOMED, "38341003", "Hypertension")


def ago(days: float) -> str:
    return (NOW - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def kept_ids(*resources: dict[str, Any], now: datetime | None = NOW) -> set[str | None]:
    record = record_of(*resources, now=now)
    return {o.id for o in record.observations} | {c.id for c in record.conditions}


def test_the_windows_are_the_rules_look_backs() -> None:
    windows = observation_windows(KNOWLEDGE)
    assert windows["8310-5"] == 14 and windows["8332-9"] == 14  # fever: 14 days
    assert windows["29463-7"] == 365  # weight loss: the readings of 12 months


def test_only_readings_inside_a_window_are_read() -> None:
    found = kept_ids(
        observation("t-new", TEMPERATURE, 38.6, unit_code="Cel", when=ago(3)),
        # inside the two days' margin
        observation("t-edge", TEMPERATURE, 36.6, unit_code="Cel", when=ago(15)),
        observation("t-old", TEMPERATURE, 39.0, unit_code="Cel", when=ago(40)),
        observation("t-years", TEMPERATURE, 39.0, unit_code="Cel", when="2019-03-02"),
        observation("t-future", TEMPERATURE, 36.6, unit_code="Cel", when=ago(-30)),
        observation("w-in", WEIGHT, 80.0, unit_code="kg", when=ago(170)),
        observation("w-out", WEIGHT, 90.0, unit_code="kg", when=ago(400)),
    )
    assert found == {"t-new", "t-edge", "w-in"}


def test_without_a_clock_every_reading_is_read() -> None:
    found = kept_ids(
        observation("t-old", TEMPERATURE, 39.0, unit_code="Cel", when=ago(400)), now=None
    )
    assert found == {"t-old"}


@pytest.mark.parametrize(
    "when",
    [None, "2026", "2026-11", " 2019-01-01", "not a date", 20190101, "2026-1x-01T00:00:00Z"],
)
def test_a_date_the_pass_cannot_read_leaves_the_reading_to_the_rules(when: object) -> None:
    resource = observation("t", TEMPERATURE, 38.6, unit_code="Cel", when=when)
    assert kept_ids(resource) == {"t"}


def test_a_period_or_issued_dates_the_reading() -> None:
    old = observation("t-period", TEMPERATURE, 38.6, unit_code="Cel")
    old["effectivePeriod"] = {"start": ago(300), "end": ago(299)}
    recent = observation("t-issued", TEMPERATURE, 38.6, unit_code="Cel")
    recent["issued"] = ago(2)
    assert kept_ids(old, recent) == {"t-issued"}


def test_a_finding_is_read_whatever_its_date() -> None:
    finding = {
        "resourceType": "Observation",
        "id": "numb",
        "status": "final",
        "code": {"coding": [{"system": SNOMED, "code": "44077006"}]},  # numbness
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2015-01-01",
    }
    valued = {
        **finding,
        "id": "numb-value",
        "code": {"coding": [{"system": LOINC, "code": "8310-5"}]},
        "effectiveDateTime": "2015-01-01",
        "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": "44077006"}]},
    }
    assert kept_ids(finding, valued) == {"numb", "numb-value"}


def test_an_old_febrile_reading_still_makes_no_finding_and_a_recent_one_does() -> None:
    def fever(*resources: dict[str, Any]) -> list[str]:
        record = record_of(*resources, now=NOW)
        return [f.group_id for f in patient_findings(record, KNOWLEDGE, NOW)]

    assert "fever-infection" not in fever(
        observation("t", TEMPERATURE, 39.0, unit_code="Cel", when=ago(20))
    )
    assert "fever-infection" in fever(
        observation("t", TEMPERATURE, 39.0, unit_code="Cel", when=ago(10))
    )


def test_an_invalid_reading_outside_every_window_is_not_validated(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = observation("t-bad", TEMPERATURE, 39.0, unit_code="Cel", when="2019-03-02")
    broken["status"] = {"not": "a code"}
    with caplog.at_level(logging.WARNING):
        assert kept_ids(broken) == set()
    assert "t-bad" not in caplog.text


def test_a_condition_whose_texts_only_deny_a_finding_is_left_unread() -> None:
    found = kept_ids(
        condition(
            "denied", HYPERTENSION, status=None, note=[{"text": "No radiculopathy, no red flags"}]
        ),
        condition(
            "noted", HYPERTENSION, status=None, note=[{"text": "Cervical radiculopathy, left C6"}]
        ),
        condition("plain", HYPERTENSION, status=None),
        # a radiculopathy code
        condition("coded", coded(SNOMED, "54404000", "Hypertension"), status=None),
    )
    assert found == {"noted", "coded"}


def test_a_condition_named_in_its_text_or_display_is_read() -> None:
    texted = condition("texted", HYPERTENSION, status=None)
    texted["code"]["text"] = "Febrile illness since yesterday"
    displayed = condition("displayed", HYPERTENSION, status=None)
    displayed["code"]["coding"][0]["display"] = "Cervical radiculopathy"
    odd = condition("odd", HYPERTENSION, status=None)
    odd["code"] = ["Cervical radiculopathy"]  # a wrong shape, read leniently
    assert kept_ids(texted, displayed, odd) == {"texted", "displayed", "odd"}


def test_one_pass_counts_and_judges_the_container() -> None:
    selector = Selector(Relevance(KNOWLEDGE), NOW)
    entries = [
        {"resource": observation(f"t{i}", TEMPERATURE, 36.6, unit_code="Cel", when=ago(500))}
        for i in range(5)
    ]
    scanned = selector.scan({"resourceType": "Bundle", "entry": entries}, "Bundle")
    assert (scanned.fault, scanned.kept, scanned.observations) == (None, [], 5)
    error = {"resourceType": "OperationOutcome", "issue": [{"severity": "error"}]}
    warning = {"resourceType": "OperationOutcome", "issue": [{"severity": "warning"}]}
    assert not selector.scan(
        {"resourceType": "Bundle", "entry": [*entries, {"resource": warning}]}, "Bundle"
    ).fault  # a warning (Epic's "no results") is no failure
    assert selector.scan(
        {"resourceType": "Bundle", "entry": [*entries, {"resource": error}]}, "Bundle"
    ).fault == ("an OperationOutcome")
    assert (
        selector.scan({"resourceType": "Bundle", "entry": [{"fullUrl": "x"}]}, "Bundle").fault
        == "a Bundle with an entry that holds no resource"
    )
    assert selector.scan([], "Bundle").fault == "a JSON array, not a FHIR resource"


# ------------------------------------------------------------------ orjson at the edge


def test_a_body_orjson_refuses_is_judged_as_before(client: FlaskClient) -> None:
    response = client.post(
        "/cds-services/order-sign", data='{"hook": Infinity}', content_type="application/json"
    )
    assert response.status_code == 400
    assert "Infinity" in response.get_json()["issue"][0]["diagnostics"]


def test_a_lone_surrogate_is_read_as_the_standard_library_reads_it(client: FlaskClient) -> None:
    response = client.post(
        "/cds-services/order-sign",
        data='{"hook": "order-sign", "hookInstance": "\\ud800", "context": {}}',
        content_type="application/json",
    )
    assert response.status_code == 400  # a clear 400, never a 500
    assert response.get_json()["resourceType"] == "OperationOutcome"


def test_responses_are_compact_json_with_a_newline(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.data == b'{"status":"ok"}\n'
    assert response.mimetype == "application/json"


def test_the_memo_stays_bounded_whatever_the_codes() -> None:
    relevance = Relevance(KNOWLEDGE)
    for i in range(MEMO_LIMIT + 10):
        relevance.observation_class(LOINC, f"x-{i}")
    assert relevance._entries < MEMO_LIMIT
    assert relevance.observation_class(LOINC, "8310-5") == 14  # still right after a reset
    long = "9" * 1_000
    assert relevance.observation_class(long, long) == -1
    assert long not in relevance.observation_codes  # too long to remember


def test_the_memos_live_and_die_with_their_knowledge() -> None:
    """A terminology refresh swaps in a new knowledge: no answer of the old one is reused."""
    first = KNOWLEDGE.derived(Relevance)
    assert KNOWLEDGE.derived(Relevance) is first
    refreshed = KNOWLEDGE.with_expansions({})  # another knowledge version, as a refresh makes
    assert refreshed.derived(Relevance) is not first
    assert refreshed.derived(Relevance).knowledge is refreshed
    assert refreshed.derived(Relevance) is refreshed.derived(Relevance)
