"""Reading FHIR JSON into the plain facts the rules use: draft orders, Conditions, prior studies.

Which resources are validated with the ``fhir.resources.R4B`` models (EHRs send R4) before they
are read: draft ServiceRequests (one the models reject is skipped), Conditions, Patients and
prior studies (one the models reject is logged and counted, and still read: it may put the
patient outside the variant, failing safe, but never supplies the indication; see
record_reader.py). Observations are not validated: they are read field by field on the JSON
(observation_reading.py), and a malformed reading can only exclude, so the models' verdict
could not change the answer. Values are read from the raw JSON, which keeps the facts' types
simple and stable.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.imagingstudy import ImagingStudy
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.procedure import Procedure
from fhir.resources.R4B.servicerequest import ServiceRequest
from pydantic import ValidationError

from cds_service.clinical.codes import NO_SYSTEM
from cds_service.record.facts import CodePair, ConditionFact, Order, PriorStudyFact
from cds_service.record.fhir_time import parse_datetime

log = logging.getLogger(__name__)

MODELS: dict[str, Any] = {
    "Condition": Condition,
    "DiagnosticReport": DiagnosticReport,
    "ImagingStudy": ImagingStudy,
    "Patient": Patient,
    "Procedure": Procedure,
    "ServiceRequest": ServiceRequest,
}


MALFORMED_CONTENT: tuple[type[BaseException], ...] = (
    ValidationError,
    ValueError,  # includes UnicodeError
    TypeError,
    LookupError,  # KeyError, IndexError: fhir.resources on an unknown contained type
    AttributeError,
    ArithmeticError,  # OverflowError: a 400-digit number
    RecursionError,  # extensions nested hundreds deep
)
"""Every exception the validators and readers raise on malformed record content: wherever a
resource is validated or read, one of these makes it "skipped", never a 500."""

_FHIR_ID = re.compile(r"[A-Za-z0-9.\-]{1,64}")
_FHIR_TYPE = re.compile(r"[A-Z][A-Za-z]{0,63}")


def loggable(value: object, pattern: re.Pattern[str] = _FHIR_ID) -> str:
    """A valid FHIR id as it is; anything else (free text, patient data, a huge string) as a
    short hash of its JSON, never its content."""
    if isinstance(value, str) and pattern.fullmatch(value):
        return value
    if value is None:
        return "?"
    try:
        text = json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError, RecursionError):
        text = type(value).__name__
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:12]


@dataclass
class Skipped:
    """Resources left out because the R4B models rejected them (type and id only)."""

    resources: list[str] = field(default_factory=list)

    def add(self, resource: Mapping[str, Any]) -> None:
        kind = loggable(resource.get("resourceType"), _FHIR_TYPE)
        label = f"{kind}/{loggable(resource.get('id'))}"
        self.resources.append(label)
        log.warning("skipped invalid FHIR resource %s", label)


def is_valid(resource: Mapping[str, Any], skipped: Skipped) -> bool:
    """Validate with the R4B model for its type; record and skip it when it fails."""
    model = MODELS.get(str(resource.get("resourceType")))
    if model is None:
        return True
    try:
        model.model_validate(resource)
    except MALFORMED_CONTENT:
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
    """(canonical system, code) for each coding of a CodeableConcept that has a code; a coding
    without a system has :data:`~cds_service.codes.NO_SYSTEM` (exclusions read it in every
    system, failing safe)."""
    result = []
    for coding in as_list(as_dict(concept).get("coding")):
        system, code = as_str(as_dict(coding).get("system")), as_str(as_dict(coding).get("code"))
        if code:
            result.append((systems.get(system, system) if system else NO_SYSTEM, code))
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


CLINICAL_STATUS_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION_STATUS_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
UNRECOGNISED = "unrecognised"
"""A status element that is present but holds no code of its HL7 code system."""
_SEPARATORS = re.compile(r"[\s_]+")


def normalise_code(value: object) -> str | None:
    """``" Entered_In Error "`` -> ``"entered-in-error"``: trimmed, lower-case, inner spaces and
    underscores as ``-``; None when there is no text."""
    if not isinstance(value, str) or not value.strip():
        return None
    return _SEPARATORS.sub("-", value.strip().lower())


STATUS_CODES = {
    CLINICAL_STATUS_SYSTEM: frozenset(
        {"active", "recurrence", "relapse", "inactive", "remission", "resolved"}
    ),
    VERIFICATION_STATUS_SYSTEM: frozenset(
        {"unconfirmed", "provisional", "differential", "confirmed", "refuted", "entered-in-error"}
    ),
}
"""The codes of each HL7 status code system, for a status given as text alone."""


def hl7_status(concept: object, system: str) -> str | None:
    """The normalised code of the first coding from ``system`` (an HL7 status code system),
    else the element's text when it is exactly one of that system's codes ("Resolved");
    :data:`UNRECOGNISED` when the element is there but says neither (another system, other
    text, a wrong shape); None when the element is absent."""
    if concept is None:
        return None
    for coding in as_list(as_dict(concept).get("coding")):
        coding = as_dict(coding)
        code = normalise_code(coding.get("code"))
        if code and coding.get("system") == system:
            return code
    text = normalise_code(as_dict(concept).get("text"))
    if text is not None and text in STATUS_CODES.get(system, ()):
        return text
    return UNRECOGNISED


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
        notes=note_texts(resource),
        body_sites=concept_list_codings(resource.get("bodySite"), systems),
        code_texts=names(resource.get("code")),
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
    look-backs and the 'new deficit' window err toward counting the finding. A ``code`` of the
    wrong shape is still read (see :func:`lenient_concept`); an unrecognised clinicalStatus
    counts as current and an unrecognised verificationStatus drops nothing. Any of these makes
    the fact unvalidated: it can exclude, but never supply the indication."""
    onset_period, abatement_period = (
        as_dict(resource.get("onsetPeriod")),
        as_dict(resource.get("abatementPeriod")),
    )
    onset = resource.get("onsetDateTime") or onset_period.get("end") or onset_period.get("start")
    abatement = resource.get("abatementDateTime") or abatement_period.get("end")
    concept, well_formed = lenient_concept(resource.get("code"))
    clinical = hl7_status(resource.get("clinicalStatus"), CLINICAL_STATUS_SYSTEM)
    verification = hl7_status(resource.get("verificationStatus"), VERIFICATION_STATUS_SYSTEM)
    return ConditionFact(
        id=as_str(resource.get("id")),
        codes=codings(concept, systems),
        display=first_display(concept),
        clinical_status=clinical,
        verification_status=verification,
        onset=parse_datetime(onset, latest=True),
        recorded=parse_datetime(resource.get("recordedDate"), latest=True),
        abatement=parse_datetime(abatement, latest=True),
        onset_from=parse_datetime(onset),
        recorded_from=parse_datetime(resource.get("recordedDate")),
        names=names(concept),
        notes=note_texts(resource),
        validated=validated and well_formed and UNRECOGNISED not in (clinical, verification),
        unreadable=unreadable_concept(resource.get("code")),
    )


def note_texts(resource: Mapping[str, Any]) -> tuple[str, ...]:
    """The texts of a resource's ``note`` Annotations."""
    return tuple(
        text
        for note in as_list(resource.get("note"))
        if (text := as_str(as_dict(note).get("text")))
    )


def code_text(value: object) -> str | None:
    """A coding's code as text: a string as is, an integer (``54404000``) as its digits."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return None


def _well_formed(concept: Mapping[str, Any]) -> bool:
    coding = concept.get("coding", [])
    text = concept.get("text")
    return (
        isinstance(coding, list)
        and "code" not in concept  # a Coding in place of the CodeableConcept
        and all(isinstance(c, dict) and isinstance(c.get("code", ""), str) for c in coding)
        and (text is None or isinstance(text, str))
    )


def lenient_concept(value: object) -> tuple[dict[str, Any], bool]:
    """A CodeableConcept, and whether it came in that shape. A wrong shape (a list of
    CodeableConcepts, a bare string, ``coding`` as one object, a Coding in place of the concept,
    a numeric code) is still read for its codes and texts, failing safe: a finding the record
    names is never read as "nothing there". Texts beyond the first become display-only
    codings, so :func:`names` sees every one and :func:`codings` none of them."""
    if value is None:
        return {}, True
    if isinstance(value, dict) and _well_formed(value):
        return value, True
    found: list[dict[str, Any]] = []
    texts: list[str] = []
    for part in value if isinstance(value, list) else [value]:
        if isinstance(part, str):
            texts.append(part)
            continue
        part = as_dict(part)
        raw = part.get("coding")
        items = raw if isinstance(raw, list) else [raw]
        if "code" in part or "system" in part:  # a bare Coding
            items = [*items, part]
        for item in items:
            if isinstance(item, dict):
                found.append({**item, "code": code_text(item.get("code"))})
        if isinstance(part.get("text"), str):
            texts.append(part["text"])
    extra = [{"display": text} for text in texts[1:]]
    return {"coding": found + extra, "text": texts[0] if texts else None}, False


def unreadable_concept(value: object) -> bool:
    """A CodeableConcept that is there but whose shape yields neither a code nor a text
    (``coding`` a number, say): it may name any finding, so it is read as one might (failing
    safe), never as "nothing there"."""
    concept, well_formed = lenient_concept(value)
    return not well_formed and not codings(concept, {}) and not names(concept)


def study_concepts(resource: Mapping[str, Any]) -> list[Any]:
    """The CodeableConcepts naming a study: ``code``, or an ImagingStudy's ``procedureCode``."""
    if resource.get("resourceType") == "ImagingStudy":
        return as_list(resource.get("procedureCode"))
    return [resource.get("code")]


def study_date(resource: Mapping[str, Any]) -> object:
    """performed[x] (Procedure), effective[x] else issued (DiagnosticReport), started
    (ImagingStudy): the raw value, or None."""
    for name in ("performed", "effective"):
        period = as_dict(resource.get(f"{name}Period"))
        found = resource.get(f"{name}DateTime") or period.get("end") or period.get("start")
        if found:
            return found
    return resource.get("issued") or resource.get("started")


def read_prior_study(resource: Mapping[str, Any], systems: Mapping[str, str]) -> PriorStudyFact:
    """A partial date (``2026-06``) is read as the latest instant it can mean, so the look-back
    errs toward counting the study."""
    concepts, when = study_concepts(resource), study_date(resource)
    return PriorStudyFact(
        resource_type=str(resource.get("resourceType")),
        id=as_str(resource.get("id")),
        codes=tuple(pair for concept in concepts for pair in codings(concept, systems)),
        status=as_str(resource.get("status")),
        date=parse_datetime(when, latest=True),
        display=next((name for concept in concepts for name in names(concept)), None),
        date_from=parse_datetime(when),
    )
