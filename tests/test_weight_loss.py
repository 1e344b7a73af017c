"""The weight-loss rule with undated weights (issue 20, i20wt): a weight with no date may have
been taken at any time in the 12-month window, so a loss of 5% counts when any placement of it
gives one (the undated weight as the latest, or as an earlier one); the dated weights are read
first, and the card says the loss is possible and the reading undated. Expectations are
computed by hand from the rule (knowledge file: 5% over 365 days, PROJECT DEFAULT)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from support.builders import observation, record_of
from support.clock import NOW

from cds_service.advice.evidence_text import evidence_text
from cds_service.appraisal.evidence import WeightLoss
from cds_service.appraisal.exclusions import patient_findings
from cds_service.appraisal.observation_rules import observation_evidence
from cds_service.clinical.knowledge_loader import load_knowledge
from cds_service.clinical.knowledge_schema import WeightLossRule
from cds_service.record.facts import ObservationFact
from cds_service.record.observation_filter import ObservationFilter
from cds_service.record.relevance import Relevance

KNOWLEDGE = load_knowledge()
RULE = next(
    r for g in KNOWLEDGE.file.exclusions for r in g.observations if isinstance(r, WeightLossRule)
)
LOINC = "http://loinc.org"
BODY_WEIGHT = {"coding": [{"system": LOINC, "code": "29463-7"}]}
UNDATED = None


def ago(days: int) -> str:
    return (NOW - timedelta(days=days)).isoformat()


def weight(
    value: float, days: int | None, unit: str | None = "kg", status: str = "final"
) -> ObservationFact:
    """A body weight (29463-7) taken ``days`` ago (None: no date)."""
    return ObservationFact(
        id=None,
        codes=((LOINC, "29463-7"),),
        status=status,
        value=value,
        unit=unit,
        effective=None if days is None else NOW - timedelta(days=days),
    )


def loss(*weights: ObservationFact) -> WeightLoss | None:
    found = observation_evidence(RULE, list(weights), NOW)
    assert found is None or isinstance(found, WeightLoss)
    return found


def test_the_rule_read_here_is_5_percent_over_12_months() -> None:
    assert (RULE.minimum_loss_percent, RULE.window_days) == (5, 365)


# (a) the patients the rule must now put outside the variant
def test_an_undated_weight_may_be_the_latest() -> None:
    """80 kg last month, 74 kg undated: 74 as the latest is (80 - 74) / 80 = 7.5%."""
    found = loss(weight(80, 30), weight(74, UNDATED))
    assert found is not None
    assert round(found.loss, 1) == 7.5
    assert (found.heaviest.kg, found.latest.kg, found.latest.at) == (80, 74, None)
    assert evidence_text(found, KNOWLEDGE.file) == (
        "Body weight may have fallen 7.5% (80 kg on 2026-10-24 to 74 kg on no date recorded;"
        " a weight with no date recorded may have been taken at any time)"
    )


def test_an_undated_weight_may_be_an_earlier_one() -> None:
    """90 kg undated, 84 kg this week: 90 as an earlier weight is (90 - 84) / 90 = 6.7%."""
    found = loss(weight(90, UNDATED), weight(84, 3))
    assert found is not None
    assert round(found.loss, 1) == 6.7
    assert (found.heaviest.at, found.latest.kg) == (None, 84)
    text = evidence_text(found, KNOWLEDGE.file)
    assert "may have fallen 6.7% (90 kg on no date recorded to 84 kg on 2026-11-20;" in text


def test_an_undated_weight_against_the_heaviest_of_a_dated_series() -> None:
    """82 kg (10 months), 79.5 kg (a week): the undated 77 kg as the latest is 6.1% of 82."""
    found = loss(weight(82, 300), weight(79.5, 7), weight(77, UNDATED))
    assert found is not None and round(found.loss, 1) == 6.1
    assert found.heaviest.kg == 82


def test_an_undated_weight_without_a_unit_is_read_in_kilograms_then_pounds() -> None:
    """80 kg last month and an undated "80" with no unit: as kilograms no loss; as pounds
    (36.3 kg) the latest is 54.6% below 80 kg (each unit it could be, failing safe)."""
    found = loss(weight(80, 30), weight(80, UNDATED, unit=None))
    assert found is not None and round(found.loss, 1) == 54.6
    assert found.latest.assumed == "[lb_av]"
    assert "80 (no unit; read as [lb_av]) on no date recorded" in evidence_text(
        found, KNOWLEDGE.file
    )


def test_an_undated_weight_in_pounds_without_a_unit() -> None:
    """176 lb two months ago, an undated "165" with no unit: in pounds 6.25% lost (165 as the
    latest); read first in kilograms, 165 kg as an earlier weight is a loss too."""
    assert loss(weight(176, 60, unit="[lb_av]"), weight(165, UNDATED, unit=None)) is not None


def test_two_undated_weights_may_be_in_either_order() -> None:
    """90 and 84 kg, both undated: 90 then 84 is a 6.7% loss (any placement)."""
    found = loss(weight(84, UNDATED), weight(90, UNDATED))
    assert found is not None and round(found.loss, 1) == 6.7


def test_the_dated_weights_are_read_first() -> None:
    """82 -> 76 kg dated (7.3%) is shown as it is, though an undated 70 kg would say more."""
    found = loss(weight(82, 150), weight(76, 3), weight(70, UNDATED))
    assert found is not None and round(found.loss, 1) == 7.3
    assert found.heaviest.at is not None and found.latest.at is not None
    assert evidence_text(found, KNOWLEDGE.file).startswith("Body weight fell 7.3% (82 kg on")


# (b) the patients it must not silence
@pytest.mark.parametrize(
    "weights",
    [
        pytest.param([weight(74, UNDATED)], id="a single undated weight"),
        pytest.param([weight(74, UNDATED), weight(74, UNDATED)], id="two equal undated"),
        pytest.param(
            # 79 as the latest: 4.8% of 83; 81.2 as the latest: 2.2% of 83
            [weight(82, 150), weight(81.2, 3), weight(79, UNDATED), weight(83, UNDATED)],
            id="undated within 5% of the dated",
        ),
        pytest.param(
            [weight(82, 150), weight(81, 3), weight(74, UNDATED, unit="cm")],
            id="undated reading not a mass (cm)",
        ),
        pytest.param(
            # 82 as the latest: 2.4% of 84; 84 as the latest: a gain
            [weight(80, 200), weight(84, 3), weight(82, UNDATED)],
            id="dated gain, undated within the share",
        ),
        pytest.param(
            [weight(80, 30), weight(74, UNDATED, status="entered-in-error")],
            id="undated entered in error",
        ),
        pytest.param(
            [weight(80, 30), weight(74, UNDATED, status="cancelled")],
            id="undated cancelled",
        ),
        pytest.param(
            [weight(80, 400), weight(74, UNDATED)], id="the heavier weight outside the window"
        ),
    ],
)
def test_no_weight_loss(weights: list[ObservationFact]) -> None:
    assert loss(*weights) is None


def test_just_under_and_at_the_share() -> None:
    """100 kg then an undated 95.01 kg is 4.99% (no loss); 95 kg is 5% (a loss)."""
    assert loss(weight(100, 30), weight(95.01, UNDATED)) is None
    assert loss(weight(100, 30), weight(95, UNDATED)) is not None


# the relevance pass and the rules agree on a date that cannot be read: undated
@pytest.mark.parametrize("when", ["2026-13-40", "2026-11-31", "2019-02-30", "2019-05-05Tnoon"])
def test_a_weight_whose_date_cannot_be_read_is_kept_and_counts_undated(when: str) -> None:
    dated = observation("w1", BODY_WEIGHT, 80, unit_code="kg", when=ago(30))
    broken = observation("w2", BODY_WEIGHT, 74, unit_code="kg", when=when)
    assert ObservationFilter(Relevance(KNOWLEDGE), NOW).keeps(broken)
    record = record_of(dated, broken, now=NOW)
    assert "weight-loss" in {f.group_id for f in patient_findings(record, KNOWLEDGE, NOW)}


def test_a_weight_dated_outside_the_window_is_still_left_out() -> None:
    old = observation("w1", BODY_WEIGHT, 80, unit_code="kg", when="2019-05-05")
    assert not ObservationFilter(Relevance(KNOWLEDGE), NOW).keeps(old)
