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


def as_list(value: object) -> list[Any]:
    """Raw JSON is read as it should be or not at all: a non-list is an empty list."""
    return value if isinstance(value, list) else []


def as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def codings(concept: object, systems: Mapping[str, str]) -> tuple[CodePair, ...]:
    """(canonical system, code) for each complete coding of a CodeableConcept."""
    result = []
    for coding in as_list(as_dict(concept).get("coding")):
        system, code = as_str(as_dict(coding).get("system")), as_str(as_dict(coding).get("code"))
        if system and code:
            result.append((systems.get(system, system), code))
    return tuple(result)


def concept_list_codings(concepts: object, systems: Mapping[str, str]) -> tuple[CodePair, ...]:
    return tuple(pair for concept in as_list(concepts) for pair in codings(concept, systems))


def names(concept: object) -> tuple[str, ...]:
    """Every coding display and the text of a CodeableConcept."""
    concept = as_dict(concept)
    found = [as_dict(c).get("display") for c in as_list(concept.get("coding"))]
    found.append(concept.get("text"))
    return tuple(n for n in found if isinstance(n, str) and n)


def first_display(concept: object) -> str | None:
    found = names(concept)
    return found[0] if found else None


def status_code(concept: object) -> str | None:
    for coding in as_list(as_dict(concept).get("coding")):
        code = as_str(as_dict(coding).get("code"))
        if code:
            return code
    return None


def local_reference(reference: str) -> str:
    """``Type/id`` from a relative, absolute or versioned reference (``#id`` and ``urn:`` as is)."""
    if reference.startswith(("#", "urn:")):
        return reference
    parts = reference.split("/_history/")[0].rstrip("/").split("/")
    return "/".join(parts[-2:])


def read_order(resource: dict[str, Any], systems: Mapping[str, str]) -> Order:
    references = tuple(
        ref
        for item in as_list(resource.get("reasonReference"))
        if (ref := as_str(as_dict(item).get("reference")))
    )
    return Order(
        resource_type=str(resource.get("resourceType")),
        id=as_str(resource.get("id")),
        codes=codings(resource.get("code"), systems),
        reason_codes=concept_list_codings(resource.get("reasonCode"), systems),
        reason_references=references,
        reason_names=tuple(
            name for concept in as_list(resource.get("reasonCode")) for name in names(concept)
        ),
        contained={
            f"#{item['id']}": codings(item.get("code"), systems)
            for item in as_list(resource.get("contained"))
            if as_str(as_dict(item).get("id"))
        },
        raw=resource,
    )


def read_condition(
    resource: Mapping[str, Any], systems: Mapping[str, str], validated: bool = True
) -> ConditionFact:
    """Partial dates (``2026``, ``2026-11``) are read as the latest instant they can mean, so
    look-backs and the 'new deficit' window err toward counting the finding."""
    onset_period, abatement_period = (
        as_dict(resource.get("onsetPeriod")),
        as_dict(resource.get("abatementPeriod")),
    )
    onset = resource.get("onsetDateTime") or onset_period.get("end") or onset_period.get("start")
    abatement = resource.get("abatementDateTime") or abatement_period.get("end")
    return ConditionFact(
        id=as_str(resource.get("id")),
        codes=codings(resource.get("code"), systems),
        display=first_display(resource.get("code")),
        clinical_status=status_code(resource.get("clinicalStatus")),
        verification_status=status_code(resource.get("verificationStatus")),
        onset=parse_datetime(onset, latest=True),
        recorded=parse_datetime(resource.get("recordedDate"), latest=True),
        abatement=parse_datetime(abatement, latest=True),
        names=names(resource.get("code")),
        validated=validated,
    )


def read_observation(resource: Mapping[str, Any], systems: Mapping[str, str]) -> ObservationFact:
    quantity = as_dict(resource.get("valueQuantity"))
    value = quantity.get("value")
    period = as_dict(resource.get("effectivePeriod"))
    effective = (
        resource.get("effectiveDateTime")
        or period.get("end")
        or period.get("start")
        or resource.get("effectiveInstant")
    )
    return ObservationFact(
        id=as_str(resource.get("id")),
        codes=codings(resource.get("code"), systems),
        status=as_str(resource.get("status")),
        value=float(value)
        if isinstance(value, int | float) and not isinstance(value, bool)
        else None,
        unit=as_str(quantity.get("code")) or as_str(quantity.get("unit")),
        effective=parse_datetime(effective),
    )
