"""One reading of an Observation's code for the relevance pass and the rules (issue 20)."""

from __future__ import annotations

import pytest
from support.builders import observation
from support.clock import NOW

from cds_service.clinical.codes import NO_SYSTEM
from cds_service.clinical.knowledge_loader import load_knowledge
from cds_service.clinical.knowledge_schema import FeverRule, WeightLossRule
from cds_service.record.observation_filter import ObservationFilter
from cds_service.record.observation_reading import read_code, read_observation, reads
from cds_service.record.relevance import Relevance

KNOWLEDGE = load_knowledge()
SYSTEMS = KNOWLEDGE.codes.system_uris
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
FEVER = next(
    r for g in KNOWLEDGE.file.exclusions for r in g.observations if isinstance(r, FeverRule)
)
WEIGHT = next(
    r for g in KNOWLEDGE.file.exclusions for r in g.observations if isinstance(r, WeightLossRule)
)

SHAPES: list[tuple[str, object]] = [
    ("no system", {"coding": [{"code": "44077006"}]}),
    ("coding an object", {"coding": {"system": SNOMED, "code": "44077006"}}),
    ("a Coding in place", {"system": SNOMED, "code": "44077006", "display": "Numbness"}),
    ("numeric code", {"coding": [{"system": SNOMED, "code": 44077006}]}),
    ("a list of concepts", [{"coding": [{"system": SNOMED, "code": "44077006"}]}]),
]


@pytest.mark.parametrize(("shape", "code"), SHAPES, ids=[s for s, _ in SHAPES])
def test_every_shape_gives_its_code(shape: str, code: object) -> None:
    assert "44077006" in [c for _, c in read_code(code, SYSTEMS).codes]


def test_a_code_without_a_system_keeps_no_system() -> None:
    assert read_code({"coding": [{"code": "8310-5"}]}, SYSTEMS).codes == ((NO_SYSTEM, "8310-5"),)


def test_texts_are_read_only_when_the_code_has_no_usable_coding() -> None:
    coded = {"coding": [{"system": LOINC, "code": "5221-7", "display": "HIV 1 Ab"}]}
    assert read_code(coded, SYSTEMS).names == ()
    assert read_code({"text": "Numbness in the hand"}, SYSTEMS).names == ("Numbness in the hand",)
    assert read_code("Numbness", SYSTEMS).names == ("Numbness",)


@pytest.mark.parametrize(
    ("codes", "unit", "fever", "weight"),
    [
        ((("", "8310-5"),), "Cel", True, False),
        ((("urn:oid:1.2.3", "8310-5"),), None, True, False),
        ((("urn:oid:1.2.3", "6"),), "[degF]", True, False),
        ((("urn:oid:1.2.3", "6"),), "°F", True, False),
        ((("urn:oid:1.2.3", "PLT"),), "K", False, False),
        ((("", "29463-7"),), "[lb_av]", False, True),
        ((("urn:oid:1.2.3", "WT"),), "kg", False, False),
    ],
)
def test_what_a_rule_reads(
    codes: tuple[tuple[str, str], ...], unit: str | None, fever: bool, weight: bool
) -> None:
    assert reads(FEVER, codes, unit) is fever
    assert reads(WEIGHT, codes, unit) is weight


@pytest.mark.parametrize(("shape", "code"), SHAPES, ids=[s for s, _ in SHAPES])
def test_the_pass_keeps_a_finding_in_any_shape_and_the_rules_read_it(
    shape: str, code: object
) -> None:
    resource = {"resourceType": "Observation", "status": "final", "code": code}
    assert ObservationFilter(Relevance(KNOWLEDGE), NOW).keeps(resource)
    fact = read_observation(resource, SYSTEMS)
    assert any(KNOWLEDGE.codes.finding_codes.contains(s, c) for s, c in fact.codes)


def test_the_pass_keeps_a_temperature_by_its_unit_inside_the_fever_window_only() -> None:
    keeps = ObservationFilter(Relevance(KNOWLEDGE), NOW).keeps
    local = {"coding": [{"system": "urn:oid:1.2.3", "code": "6", "display": "Temp"}]}
    assert keeps(observation(None, local, 103.1, unit="[degF]", when="2026-11-20", patient=None))
    assert not keeps(
        observation(None, local, 103.1, unit="[degF]", when="2026-09-01", patient=None)
    )
    assert not keeps(observation(None, local, 350, unit="K", when="2026-11-20", patient=None))
