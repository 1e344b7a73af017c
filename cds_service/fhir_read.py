"""Reading FHIR JSON into the plain facts the rules use.

Resources are validated with the ``fhir.resources.R4B`` models (EHRs send R4) before they are
read; one that fails validation is skipped and counted, never fatal. Values are then read from
the raw JSON, which keeps the facts' types simple and stable.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.servicerequest import ServiceRequest
from pydantic import ValidationError

from cds_service.facts import CodePair, ConditionFact, ObservationFact, Order
from cds_service.fhir_time import parse_datetime

log = logging.getLogger(__name__)

MODELS: dict[str, Any] = {
    "Condition": Condition,
    "Observation": Observation,
    "Patient": Patient,
    "ServiceRequest": ServiceRequest,
}


@dataclass
class Skipped:
    """Resources left out because the R4B models rejected them (type and id only)."""

    resources: list[str] = field(default_factory=list)

    def add(self, resource: Mapping[str, Any]) -> None:
        label = f"{resource.get('resourceType')}/{resource.get('id', '?')}"
        self.resources.append(label)
        log.warning("skipped invalid FHIR resource %s", label)


def is_valid(resource: Mapping[str, Any], skipped: Skipped) -> bool:
    """Validate with the R4B model for its type; record and skip it when it fails."""
    model = MODELS.get(str(resource.get("resourceType")))
    if model is None:
        return True
    try:
        model.model_validate(resource)
    except (ValidationError, ValueError, TypeError):
        skipped.add(resource)
        return False
    return True


def codings(concept: object, systems: Mapping[str, str]) -> tuple[CodePair, ...]:
    """(canonical system, code) for each complete coding of a CodeableConcept."""
    if not isinstance(concept, dict):
        return ()
    result = []
    for coding in concept.get("coding") or ():
        if isinstance(coding, dict):
            system, code = coding.get("system"), coding.get("code")
            if isinstance(system, str) and isinstance(code, str) and system and code:
                result.append((systems.get(system, system), code))
    return tuple(result)


def concept_list_codings(concepts: object, systems: Mapping[str, str]) -> tuple[CodePair, ...]:
    if not isinstance(concepts, list):
        return ()
    return tuple(pair for concept in concepts for pair in codings(concept, systems))


def first_display(concept: object) -> str | None:
    if not isinstance(concept, dict):
        return None
    for coding in concept.get("coding") or ():
        if isinstance(coding, dict) and isinstance(coding.get("display"), str):
            return str(coding["display"])
    text = concept.get("text")
    return text if isinstance(text, str) else None


def names(concept: object) -> tuple[str, ...]:
    """Every coding display and the text of a CodeableConcept."""
    if not isinstance(concept, dict):
        return ()
    found = [c.get("display") for c in concept.get("coding") or () if isinstance(c, dict)]
    found.append(concept.get("text"))
    return tuple(n for n in found if isinstance(n, str) and n)


def status_code(concept: object) -> str | None:
    if isinstance(concept, dict):
        for coding in concept.get("coding") or ():
            if isinstance(coding, dict) and isinstance(coding.get("code"), str):
                return str(coding["code"])
    return None


def read_order(resource: dict[str, Any], systems: Mapping[str, str]) -> Order:
    references = tuple(
        ref["reference"]
        for ref in resource.get("reasonReference") or ()
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str)
    )
    return Order(
        resource_type=str(resource.get("resourceType")),
        id=resource.get("id") if isinstance(resource.get("id"), str) else None,
        codes=codings(resource.get("code"), systems),
        reason_codes=concept_list_codings(resource.get("reasonCode"), systems),
        reason_references=references,
        reason_names=tuple(
            name for concept in resource.get("reasonCode") or () for name in names(concept)
        ),
        raw=resource,
    )


def read_condition(
    resource: Mapping[str, Any], systems: Mapping[str, str], validated: bool = True
) -> ConditionFact:
    onset = resource.get("onsetDateTime") or (resource.get("onsetPeriod") or {}).get("start")
    abatement = resource.get("abatementDateTime") or (resource.get("abatementPeriod") or {}).get(
        "end"
    )
    return ConditionFact(
        id=resource.get("id"),
        codes=codings(resource.get("code"), systems),
        display=first_display(resource.get("code")),
        clinical_status=status_code(resource.get("clinicalStatus")),
        verification_status=status_code(resource.get("verificationStatus")),
        onset=parse_datetime(onset),
        recorded=parse_datetime(resource.get("recordedDate")),
        abatement=parse_datetime(abatement),
        names=names(resource.get("code")),
        validated=validated,
    )


def read_observation(resource: Mapping[str, Any], systems: Mapping[str, str]) -> ObservationFact:
    quantity = resource.get("valueQuantity") or {}
    value = quantity.get("value") if isinstance(quantity, dict) else None
    unit = None
    if isinstance(quantity, dict):
        unit = quantity.get("code") or quantity.get("unit")
    effective = (
        resource.get("effectiveDateTime")
        or (resource.get("effectivePeriod") or {}).get("end")
        or (resource.get("effectivePeriod") or {}).get("start")
        or resource.get("effectiveInstant")
    )
    return ObservationFact(
        id=resource.get("id"),
        codes=codings(resource.get("code"), systems),
        status=resource.get("status"),
        value=float(value)
        if isinstance(value, int | float) and not isinstance(value, bool)
        else None,
        unit=unit if isinstance(unit, str) else None,
        effective=parse_datetime(effective),
    )
