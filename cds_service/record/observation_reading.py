"""One lenient, failing-safe reading of an Observation, shared by the relevance pass and the rules.

The selection (observation_filter.py) decides which Observations the rules see; the rules
(appraisal/criteria.py) decide what they mean. Both ask the questions of this module, so that
the pass can never drop what the rules would read as an exclusion. The reader
(record_reader.py) reads each kept Observation here, field by field on the JSON, without the
R4B models (see readers.py), its value included (a number and its unit, a text, a value
that denies the finding, a flag that says high). The questions both ask:

- **the code**, read as Conditions' codes are (:func:`~cds_service.record.readers.lenient_concept`):
  a coding without a system keeps :data:`~cds_service.clinical.codes.NO_SYSTEM` and is matched
  in every system of the exclusion groups' codes (so is one under a local or unknown system);
  a code of the wrong shape (``coding`` one object, a Coding in place of the concept, a numeric
  SNOMED CT code, a bare string, a list of concepts) is still read for its codes and texts.
- **the texts of the code** (:attr:`ObservationCode.names`) are read for findings only when the
  code carries no usable coding or is not in its proper shape: a well-formed coded Observation is
  judged by its codes (a lab named "HIV 1+2 Ab" is a test, not a finding).
- **a reading of a rule** (:func:`reads`): one of the rule's codes in any system or none (failing
  safe; LOINC and SNOMED CT codes do not collide), or, for a body temperature, any Observation
  whose unit can only mean a temperature (``Cel``, ``[degF]``, ``°F``...): its value and unit say
  fever whatever its coding quirks.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cds_service.clinical.knowledge_schema import FeverRule, WeightLossRule
from cds_service.record.facts import CodePair, ObservationFact
from cds_service.record.fhir_time import parse_datetime, partial_until
from cds_service.record.readers import (
    as_dict,
    as_list,
    as_str,
    codings,
    concept_list_codings,
    lenient_concept,
    names,
    normalise_code,
)

TEMPERATURE_UNITS = frozenset(
    {
        "cel",
        "°c",
        "º c",
        "° c",
        "c",
        "degc",
        "deg c",
        "celsius",
        "degrees celsius",
        "[degf]",
        "°f",
        "º f",
        "° f",
        "f",
        "degf",
        "deg f",
        "fahrenheit",
        "degrees fahrenheit",
    }
)
"""Units of a temperature (case aside; see units.py). Not Kelvin's ``K``: a local lab writes
"K" for thousands ("350 K" platelets would read as 77 °C); a reading in Kelvin counts by its
code only. A bare ``F`` or ``C`` counts: their other senses (a catheter's French size) are far
below a fever's value."""


ABSENT_VALUES = frozenset(
    {
        ("http://snomed.info/sct", "2667000"),  # Absent
        ("http://snomed.info/sct", "272519000"),  # Absence of
        ("http://snomed.info/sct", "260385009"),  # Negative
        ("http://snomed.info/sct", "373067005"),  # No
        ("http://terminology.hl7.org/CodeSystem/v2-0136", "N"),  # No
        ("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "NEG"),
    }
)


ABSENT_WORDS = frozenset(
    {"no", "denies", "denied", "negative", "neg", "absent", "none", "not present", "false"}
)
"""A text value that answers "is the finding present?" with no (case and a full stop aside)."""


def denies_finding(resource: Mapping[str, Any], systems: Mapping[str, str]) -> bool:
    """An Observation whose value says its coded finding is absent: valueBoolean false, a
    valueCodeableConcept or interpretation coded absent, negative or no, or a text value
    that is one of :data:`ABSENT_WORDS`."""
    if resource.get("valueBoolean") is False:
        return True
    text = as_str(resource.get("valueString"))
    if text is not None and text.strip().rstrip(".").strip().casefold() in ABSENT_WORDS:
        return True
    stated = [
        *codings(resource.get("valueCodeableConcept"), systems),
        *concept_list_codings(resource.get("interpretation"), systems),
    ]
    return any(pair in ABSENT_VALUES for pair in stated)


_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


MAX_NUMBER = 1e9
"""Larger values are no measurement (and a 400-digit integer does not fit a float)."""


def number(value: object) -> float | None:
    """A finite JSON number, or a decimal sent as a string (``"38.5"``); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and abs(value) > MAX_NUMBER:
        return None  # range-checked before float(), which overflows on 400 digits
    if isinstance(value, int | float):
        result = float(value)
    elif isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
        result = float(value.strip())
    else:
        return None
    return result if math.isfinite(result) and abs(result) <= MAX_NUMBER else None


def observation_time(resource: Mapping[str, Any]) -> object:
    """effective[x] (a period's end, else its start), else ``issued``: the raw value."""
    period = as_dict(resource.get("effectivePeriod"))
    return (
        resource.get("effectiveDateTime")
        or period.get("end")
        or period.get("start")
        or resource.get("effectiveInstant")
        or resource.get("issued")
    )


HIGH_INTERPRETATIONS = frozenset({"H", "HH", "HU", "A", "AA", ">"})
"""HL7 v3 ObservationInterpretation codes of a value above normal or abnormal."""
_NUMBER_TEXT = re.compile(r"\s*([+-]?\d+(?:[.,]\d+)?)\s*([^\d\s][^\d]{0,20})?\s*")


def quantity_of(resource: Mapping[str, Any]) -> tuple[float | None, str | None]:
    """valueQuantity's value and unit (the UCUM code, else the printed unit); else a number
    written as valueString ("38.9", "80 kg")."""
    quantity = as_dict(resource.get("valueQuantity"))
    value = number(quantity.get("value"))
    if value is not None or "valueQuantity" in resource:
        return value, as_str(quantity.get("code")) or as_str(quantity.get("unit"))
    text = as_str(resource.get("valueString"))
    found = _NUMBER_TEXT.fullmatch(text) if text else None
    if found is None:
        return None, None
    return number(found.group(1).replace(",", ".")), as_str((found.group(2) or "").strip())


def flagged_high(resource: Mapping[str, Any]) -> bool:
    for concept in as_list(resource.get("interpretation")):
        for coding in as_list(as_dict(concept).get("coding")):
            code = as_str(as_dict(coding).get("code"))
            if code is not None and code.strip().upper() in HIGH_INTERPRETATIONS:
                return True
        text = as_str(as_dict(concept).get("text"))
        if text is not None and text.strip().casefold() in ("high", "abnormal", "critical high"):
            return True
    return False


@dataclass(frozen=True)
class ObservationCode:
    """An Observation's ``code`` (or ``valueCodeableConcept``) as both readers read it."""

    codes: tuple[CodePair, ...]
    """(canonical system, code) of every coding with a code; NO_SYSTEM when it has none."""
    names: tuple[str, ...]
    """The texts read for findings: every display and text, when the concept has no coded
    coding or is not in its proper shape; else none."""


EMPTY = ObservationCode((), ())


def read_code(value: object, systems: Mapping[str, str]) -> ObservationCode:
    """The codes (and, see :class:`ObservationCode`, texts) of a concept in any shape."""
    if value is None:
        return EMPTY
    concept, well_formed = lenient_concept(value)
    codes = codings(concept, systems)
    return ObservationCode(codes, () if well_formed and codes else names(concept))


def says_temperature(unit: str | None) -> bool:
    """The unit can only mean a temperature (see :data:`TEMPERATURE_UNITS`)."""
    return unit is not None and unit.strip().lower() in TEMPERATURE_UNITS


def reads(rule: FeverRule | WeightLossRule, codes: Iterable[CodePair], unit: str | None) -> bool:
    """Is an Observation with these codes and this unit a reading of ``rule``? One of the rule's
    codes in any system or none, or (a body temperature) a unit that is a temperature's."""
    wanted = rule.reading_codes
    if any(code.strip() in wanted for _, code in codes):
        return True
    return isinstance(rule, FeverRule) and says_temperature(unit)


def reading_unit(resource: Mapping[str, Any]) -> str | None:
    """The unit the rules read the value in (see :func:`quantity_of`)."""
    return quantity_of(resource)[1]


def read_observation(resource: Mapping[str, Any], systems: Mapping[str, str]) -> ObservationFact:
    """The value may be a decimal sent as a string (or as valueString); the unit is the UCUM
    code, else the printed unit, else None (see :func:`cds_service.units.read_temperature`)."""
    value, unit = quantity_of(resource)
    code = read_code(resource.get("code"), systems)
    when = observation_time(resource)
    return ObservationFact(
        id=as_str(resource.get("id")),
        codes=code.codes,
        status=normalise_code(resource.get("status")),
        value=value,
        unit=unit,
        effective=parse_datetime(when),
        value_codes=read_code(resource.get("valueCodeableConcept"), systems).codes,
        absent=denies_finding(resource, systems),
        value_text=as_str(resource.get("valueString")),
        flagged_high=flagged_high(resource),
        names=code.names,
        effective_until=partial_until(when),
    )


def read_observations(
    resource: Mapping[str, Any], systems: Mapping[str, str]
) -> list[ObservationFact]:
    """The Observation, and each of its components as a reading of its own (a vital-signs
    panel's body temperature), with the Observation's id, status and time."""
    facts = [read_observation(resource, systems)]
    for index, component in enumerate(as_list(resource.get("component"))):
        if not isinstance(component, dict):
            continue
        part = {
            **component,
            "id": f"{facts[0].id or ''}#component-{index}",
            "status": resource.get("status"),
            "effectiveDateTime": observation_time(resource),
        }
        facts.append(read_observation(part, systems))
    return facts
