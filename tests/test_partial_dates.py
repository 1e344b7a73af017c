"""Partial dates read as their span (issue 20, i20pd): FHIR allows a dateTime of a month
("2026-11") or a year ("2026"), which means any time in it. Every windowed rule counts a
finding when any of its span is within the window (first rule, failing safe) and not when the
whole span is outside (second rule); the weight-loss rule places such a weight anywhere in its
span; the card shows the date as recorded. Expectations are computed by hand from the rules'
windows (knowledge file, PROJECT DEFAULT) at the tests' clock, 2026-11-23T12:00Z: fever from
2026-11-09, weight and prior imaging from 2025-11-23."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from support.builders import coded, condition, observation, record_of, study
from support.clock import NOW

from cds_service.advice.evidence_text import evidence_text
from cds_service.appraisal.evidence import TemperatureReading, WeightLoss
from cds_service.appraisal.exclusions import patient_findings
from cds_service.clinical.knowledge_loader import load_knowledge
from cds_service.record.fhir_time import parse_datetime, partial_until, span_text
from cds_service.record.observation_filter import ObservationFilter
from cds_service.record.relevance import Relevance

KNOWLEDGE = load_knowledge()
LOINC, SNOMED = "http://loinc.org", "http://snomed.info/sct"
TEMPERATURE = coded(LOINC, "8310-5")
BODY_WEIGHT = coded(LOINC, "29463-7")


def ago(days: int) -> str:
    return (NOW - timedelta(days=days)).isoformat()


def fever(when: str, value: float = 39.5) -> dict[str, Any]:
    return observation("t1", TEMPERATURE, value, unit_code="Cel", when=when)


def kg(oid: str, value: float, when: str) -> dict[str, Any]:
    return observation(oid, BODY_WEIGHT, value, unit_code="kg", when=when)


def findings(*resources: dict[str, Any]) -> dict[str, Any]:
    """Group id to its finding's evidence, the record read through the relevance pass."""
    found = patient_findings(record_of(*resources, now=NOW), KNOWLEDGE, NOW)
    return {f.group_id: f.evidence for f in found}


def test_the_windows_read_here() -> None:
    """The tests' dates below are computed from these (knowledge file, PROJECT DEFAULT)."""
    groups = {g.id: g for g in KNOWLEDGE.file.exclusions}
    fever_rule = groups["fever-infection"].observations[0]
    weight_rule = groups["weight-loss"].observations[0]
    assert getattr(fever_rule, "lookback_days", None) == 14
    assert getattr(weight_rule, "window_days", None) == 365
    assert KNOWLEDGE.file.prior_imaging.lookback_days == 365


@pytest.mark.parametrize(
    ("written", "until", "shown"),
    [
        ("2026", datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC), "2026"),
        ("2026-11", datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC), "2026-11"),
        ("2026-12", datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC), "2026-12"),
        ("2024-02", datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC), "2024-02"),
        ("2026-11-20", None, "2026-11-20"),
        ("2026-11-20T10:00:00Z", None, "2026-11-20"),
    ],
)
def test_a_date_is_a_span_and_is_shown_as_recorded(
    written: str, until: datetime | None, shown: str
) -> None:
    assert partial_until(written) == until
    assert span_text(parse_datetime(written), until) == shown


@pytest.mark.parametrize("written", ["2026-13", "20261", "", "2026-1"])
def test_a_partial_date_that_cannot_be_read_is_no_span(written: str) -> None:
    assert partial_until(written) is None


# (a) must exclude: a span that reaches into the window
def test_a_fever_dated_by_its_month_may_be_within_14_days() -> None:
    """39.5 Cel dated 2026-11: November 9 to 23 are in the window."""
    evidence = findings(fever("2026-11")).get("fever-infection")
    assert isinstance(evidence, TemperatureReading) and evidence.date == "2026-11"
    assert evidence_text(evidence, KNOWLEDGE.file) == "Body temperature 39.5 Cel on 2026-11"


def test_a_fever_dated_by_its_year_may_be_within_14_days() -> None:
    assert "fever-infection" in findings(fever("2026"))


def test_a_fever_finding_observed_in_the_month_counts() -> None:
    """An Observation of the finding fever (386661006), 2026-11: its group's 14 days."""
    finding = observation("o1", coded(SNOMED, "386661006"), None, when="2026-11")
    evidence = findings({**finding, "valueQuantity": None}).get("fever-infection")
    assert evidence is not None and "(2026-11)" in evidence_text(evidence, KNOWLEDGE.file)


def test_a_weight_dated_by_its_month_may_be_the_latest() -> None:
    """80 kg on 2026-10-24, 74 kg dated 2026-10: 74 may be from after the 24th, 7.5% lost."""
    evidence = findings(kg("w1", 80, ago(30)), kg("w2", 74, "2026-10")).get("weight-loss")
    assert isinstance(evidence, WeightLoss) and round(evidence.loss, 1) == 7.5
    assert evidence_text(evidence, KNOWLEDGE.file) == (
        "Body weight may have fallen 7.5% (80 kg on 2026-10-24 to 74 kg on 2026-10; a weight"
        " dated only by its month or year may have been taken at any time in it)"
    )


@pytest.mark.parametrize(
    "weights",
    [
        pytest.param([("2026", 85), (ago(3), 80)], id="a heavier year before (5.9%)"),
        pytest.param([("2026-10", 90), ("2026-10", 84)], id="two in one month (6.7%)"),
        pytest.param([("2025-11", 80), (ago(3), 75)], id="a month half in the window (6.25%)"),
        pytest.param([(ago(30), 80), ("2026", 74)], id="a year after a dated one (7.5%)"),
    ],
)
def test_a_placement_within_the_span_gives_a_loss(weights: list[tuple[str, float]]) -> None:
    resources = [kg(f"w{i}", value, when) for i, (when, value) in enumerate(weights)]
    assert "weight-loss" in findings(*resources)


def test_a_prior_study_of_this_year_is_within_the_look_back_and_shown_as_recorded() -> None:
    evidence = findings(study("Procedure", performedDateTime="2026")).get("prior-imaging")
    assert evidence is not None
    assert evidence_text(evidence, KNOWLEDGE.file).endswith(", Procedure, 2026")


def test_a_prior_study_of_last_year_reaches_into_the_look_back() -> None:
    """2025 runs to December 31, inside the year from 2025-11-23."""
    assert "prior-imaging" in findings(study("Procedure", performedDateTime="2025"))


def test_a_condition_onset_is_shown_as_recorded() -> None:
    resolved = condition("c1", coded(SNOMED, "386661006"), status="resolved")
    evidence = findings({**resolved, "onsetDateTime": "2026-11"}).get("fever-infection")
    assert evidence is not None
    assert "onset 2026-11)" in evidence_text(evidence, KNOWLEDGE.file)


# (b) must still be rated: the whole span outside the window, or no placement gives a loss
@pytest.mark.parametrize("when", ["2025-06", "2026-10", "2025", "2027", "2026-12"])
def test_a_fever_whose_whole_span_is_outside_the_window_is_not_read(when: str) -> None:
    """October ends before November 9; 2027 and December 2026 start after today."""
    assert "fever-infection" not in findings(fever(when))


@pytest.mark.parametrize(
    "weights",
    [
        pytest.param([("2026-09", 74), (ago(30), 80)], id="the month ends before a gain"),
        pytest.param([("2026", 80), (ago(30), 78), ("2026-11", 77)], id="within 5% (3.75%)"),
        pytest.param([("2025-10", 90), (ago(3), 80)], id="the heavier month outside"),
        pytest.param([("2026-10", 80), ("2026-10", 76.5)], id="one month, 4.4%"),
    ],
)
def test_no_placement_gives_a_loss(weights: list[tuple[str, float]]) -> None:
    resources = [kg(f"w{i}", value, when) for i, (when, value) in enumerate(weights)]
    assert "weight-loss" not in findings(*resources)


def test_a_prior_study_of_2024_is_before_the_look_back() -> None:
    assert "prior-imaging" not in findings(study("Procedure", performedDateTime="2024"))


# the relevance pass keeps every partial-dated reading the rules count
MONTHS = [f"{year}-{month:02d}" for year in range(2024, 2028) for month in range(1, 13)]


@pytest.mark.parametrize("when", [*MONTHS, "2024", "2025", "2026", "2027"])
def test_the_pass_and_the_rules_agree_on_partial_dates(when: str) -> None:
    """A fever, and a heavier weight before 80 kg three days ago, dated ``when``: the same
    findings with the pass (``now`` given) as without it (every reading kept)."""
    for resources in ([fever(when)], [kg("w2", 90, when), kg("w1", 80, ago(3))]):
        passed = patient_findings(record_of(*resources, now=NOW), KNOWLEDGE, NOW)
        whole = patient_findings(record_of(*resources), KNOWLEDGE, NOW)
        assert [f.group_id for f in passed] == [f.group_id for f in whole]


def test_the_pass_keeps_a_reading_whose_span_reaches_into_the_window() -> None:
    keeps = ObservationFilter(Relevance(KNOWLEDGE), NOW).keeps
    assert keeps(fever("2026-11")) and keeps(fever("2026")) and keeps(kg("w1", 90, "2025-11"))
