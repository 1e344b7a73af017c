"""The patient record of one hook call: prefetch first, then the FHIR server for what is missing.

Per CDS Hooks 2.0, for each prefetch key: data is used; ``null`` means "no data" (not fetched);
a missing key, or one holding an OperationOutcome, is fetched from ``fhirServer``; when it
cannot be fetched the call is answered 412 naming the key and the reason.

Fast path: the record is read from the raw JSON, and only resources the rules need (by code)
are validated with the R4B models, so irrelevant resources cost little more than decoding.
A resource the models reject is logged and counted; it may still put the patient outside the
variant (failing safe), but never supplies the indication.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from cds_service.clinical.compiled_knowledge import Knowledge
from cds_service.errors import FhirFetchError, MissingData
from cds_service.record.facts import ConditionFact, ObservationFact, PatientRecord, PriorStudyFact
from cds_service.record.fhir_client import next_link
from cds_service.record.fhir_time import latest_date, parse_date
from cds_service.record.observation_reading import read_observations
from cds_service.record.prefetch_trace import PrefetchTrace, Sent
from cds_service.record.raw_json import RawJson
from cds_service.record.readers import (
    MALFORMED_CONTENT,
    Skipped,
    as_dict,
    as_list,
    as_str,
    is_valid,
    local_reference,
    names,
    read_condition,
    read_prior_study,
    study_concepts,
)
from cds_service.record.relevance import Scanned, Selector

Fetcher = Callable[[Mapping[str, str]], Mapping[str, "dict[str, Any] | FhirFetchError"]]
"""Reads ``{key: query or next-page URL}`` from the FHIR server: per key, JSON or the error."""

_MISSING = object()
FETCH_PAGE_SIZE = 200
_TOKEN = re.compile(r"\{\{\s*([A-Za-z.]+)\s*\}\}")
PRIOR_STUDY_TYPES = frozenset({"Procedure", "DiagnosticReport", "ImagingStudy"})


@dataclass(frozen=True)
class Gathered:
    record: PatientRecord
    skipped: Skipped
    fetched: tuple[str, ...]


def refuse(reason: str) -> Fetcher:
    """A fetcher for a call whose data cannot be fetched at all, saying why."""

    def fetch(queries: Mapping[str, str]) -> dict[str, dict[str, Any] | FhirFetchError]:
        return {key: FhirFetchError(reason) for key in queries}

    return fetch


def render(template: str, context: Mapping[str, Any]) -> str:
    """Fill ``{{context.x}}`` tokens; ``{{userPractitionerId}}`` and kin come from userId."""

    def value(match: re.Match[str]) -> str:
        token = match.group(1)
        if token.startswith("context."):
            found = context.get(token.removeprefix("context."))
        else:
            user = str(context.get("userId", ""))
            kind = token.removeprefix("user").removesuffix("Id")
            found = user.split("/", 1)[1] if user.startswith(kind + "/") else None
        if not isinstance(found, str | int) or isinstance(found, bool):
            raise MissingData(f"prefetch token {{{{{token}}}}} has no value in this call")
        return quote(str(found), safe="")  # an id never escapes its place in the URL

    return _TOKEN.sub(value, template)


def fetch_query(template: str, context: Mapping[str, Any]) -> str:
    """The rendered template, asking for large pages when it is a search."""
    query = render(template, context)
    if "?" in query and "_count=" not in query:
        query += f"&_count={FETCH_PAGE_SIZE}"
    return query


def assemble_record(
    prefetch: Mapping[str, Any] | None,
    templates: Mapping[str, str],
    context: Mapping[str, Any],
    knowledge: Knowledge,
    fetch: Fetcher,
    now: datetime | None = None,
    trace: PrefetchTrace | None = None,
) -> Gathered:
    """Assemble the record from the prefetch and, for what it lacks, from ``fetch``. Each
    value is walked once (see relevance.py): container checks, counts and the cheap tests
    together; with ``now``, vital signs outside every rule's window are left out unread.
    ``trace`` is told what became of each key as it goes (even when the call ends in 412)."""
    trace = trace if trace is not None else PrefetchTrace()
    selector = Selector(knowledge, now, is_prior_study)
    scans, wanted = scan_prefetch(prefetch or {}, templates, context, selector, trace)
    if wanted:
        answers = fetch_wanted(wanted, templates, selector, fetch, trace)
        for key in wanted:  # a paged Bundle with its remaining pages; else what was fetched
            earlier = scans.get(key)
            paged = earlier is not None and earlier.bundle
            scans[key] = earlier.extended(answers[key]) if paged else answers[key]  # type: ignore[union-attr]
    skipped = Skipped()
    record = read_scanned(scans.values(), context, knowledge, skipped)
    for key, scanned in scans.items():
        trace.counted(key, scanned.resources, len(scanned.kept), scanned.skipped)
    return Gathered(record, skipped, tuple(wanted))


@dataclass(frozen=True)
class Wanted:
    """A prefetch key to fetch: the query, and why (missing, unusable, paged)."""

    query: str
    why: str


def scan_prefetch(
    given: Mapping[str, Any],
    templates: Mapping[str, str],
    context: Mapping[str, Any],
    selector: Selector,
    trace: PrefetchTrace | None = None,
) -> tuple[dict[str, Scanned], dict[str, Wanted]]:
    """The prefetch values scanned, and the keys to fetch: missing, unusable (not "no data":
    fetched, else 412) or paged."""
    trace = trace if trace is not None else PrefetchTrace()
    scans: dict[str, Scanned] = {}
    wanted: dict[str, Wanted] = {}
    for key, template in templates.items():
        value = given.get(key, _MISSING)
        if value is None:  # "no data"
            trace.sent(key, Sent.NULL)
            continue
        if value is _MISSING:
            trace.sent(key, Sent.MISSING)
            wanted[key] = Wanted(fetch_query(template, context), "missing")
            continue
        scanned = selector.scan(value, expected_type(template))
        if scanned.fault:
            trace.sent(key, Sent.UNUSABLE, scanned.fault)
            wanted[key] = Wanted(fetch_query(template, context), scanned.fault)
            continue
        trace.sent(key, Sent.FILLED)
        scans[key] = scanned
        links = value.links() if isinstance(value, RawJson) else value
        more = next_link(links) if isinstance(links, dict) else None
        if more:
            wanted[key] = Wanted(more, "paged")
    return scans, wanted


def fetch_wanted(
    wanted: Mapping[str, Wanted],
    templates: Mapping[str, str],
    selector: Selector,
    fetch: Fetcher,
    trace: PrefetchTrace | None = None,
) -> dict[str, Scanned]:
    """The FHIR server's answers, with the same checks as for the prefetch (never "no data"
    by mistake); MissingData naming every key that could not be had."""
    trace = trace if trace is not None else PrefetchTrace()
    results = fetch({key: w.query for key, w in wanted.items()})
    answers: dict[str, Scanned] = {}
    faults: dict[str, str] = {}
    for key in wanted:
        answer = results.get(key)
        if isinstance(answer, FhirFetchError):
            faults[key] = answer.reason
            trace.failed(key, answer.reason, answer.status)
        elif not isinstance(answer, dict):
            faults[key] = "no answer"
            trace.failed(key, faults[key])
        else:
            answers[key] = selector.scan(answer, expected_type(templates[key]))
            if answers[key].fault:
                faults[key] = f"the FHIR server's answer is {answers[key].fault}"
                trace.failed(key, faults[key])
            else:
                trace.fetched(key, paged=wanted[key].why == "paged")
    if faults:
        raise MissingData(
            "; ".join(
                f"prefetch key '{k}' is {wanted[k].why} and could not be fetched: {fault}"
                for k, fault in faults.items()
            ),
            expression=[f"prefetch.{k}" for k in faults],
        )
    return answers


def expected_type(template: str) -> str:
    """What a prefetch template asks for: a searchset ``Bundle``, or the resource type read."""
    if "?" in template:
        return "Bundle"
    return template.lstrip("/").split("/", 1)[0]


def belongs_to_another_patient(resource: Mapping[str, Any], patient_id: str) -> bool:
    """A Patient with another id, or a resource whose subject is another Patient: not this
    call's patient's data (an _include, or a prefetch gone wrong)."""
    if resource.get("resourceType") == "Patient":
        own = resource.get("id")
        return isinstance(own, str) and own != patient_id
    subject = as_str(as_dict(resource.get("subject")).get("reference"))
    if subject is None or subject.startswith(("urn:", "#")):
        return False
    kind, _, subject_id = local_reference(subject).partition("/")
    return kind == "Patient" and subject_id != patient_id


def read_record(
    values: Any,
    context: Mapping[str, Any],
    knowledge: Knowledge,
    skipped: Skipped,
    now: datetime | None = None,
) -> PatientRecord:
    """The record from prefetch values (resources or Bundles) as they are: no container
    checks; with ``now``, vital signs outside every rule's window are left out."""
    selector = Selector(knowledge, now, is_prior_study)
    return read_scanned([selector.scan(v) for v in values], context, knowledge, skipped)


def read_scanned(
    scans: Iterable[Scanned], context: Mapping[str, Any], knowledge: Knowledge, skipped: Skipped
) -> PatientRecord:
    """Validate and read the resources the pass kept (see relevance.py)."""
    reader = RecordReader(knowledge, str(context.get("patientId")), skipped)
    for scanned in scans:
        reader.conditions_read += scanned.conditions
        reader.observations_read += scanned.observations
        before = len(skipped.resources)
        for resource in scanned.kept:
            try:  # the one place where malformed content becomes "skipped"
                reader.take(resource)
            except MALFORMED_CONTENT:  # whatever a reader raises on content it cannot read
                skipped.add(resource)
        scanned.skipped = len(skipped.resources) - before
    return reader.record()


@dataclass
class RecordReader:
    """The patient's record, read resource by resource from what the pass kept."""

    knowledge: Knowledge
    patient_id: str
    skipped: Skipped
    patients: list[tuple[object, bool]] = field(default_factory=list)
    """(birthDate, valid) of this patient's Patient resources."""
    conditions: list[ConditionFact] = field(default_factory=list)
    observations: list[ObservationFact] = field(default_factory=list)
    prior_studies: list[PriorStudyFact] = field(default_factory=list)
    conditions_read: int = 0
    observations_read: int = 0

    def take(self, resource: dict[str, Any]) -> None:
        kind, systems = resource.get("resourceType"), self.knowledge.codes.system_uris
        if kind in PRIOR_STUDY_TYPES:
            study = prior_study(resource, self.knowledge, self.patient_id, self.skipped)
            if study is not None:
                self.prior_studies.append(study)
        elif belongs_to_another_patient(resource, self.patient_id):
            return
        elif kind == "Condition":  # a rejected one still excludes, failing safe
            valid = is_valid(resource, self.skipped)
            self.conditions.append(read_condition(resource, systems, validated=valid))
        elif kind == "Observation":
            # Not validated: read field by field on the JSON, a malformed reading can only
            # exclude, so the R4 model's verdict could not change the answer (and it was a
            # third of a call with a realistic record's vital signs).
            self.observations.extend(read_observations(resource, systems))
        elif kind == "Patient":
            self.patients.append((resource.get("birthDate"), is_valid(resource, self.skipped)))

    def record(self) -> PatientRecord:
        latest, earliest = agreed_birth_dates(self.patients)
        return PatientRecord(
            patient_id=self.patient_id,
            birth_date=latest,
            earliest_birth_date=earliest,
            conditions=tuple(self.conditions),
            observations=tuple(self.observations),
            prior_studies=tuple(self.prior_studies),
            conditions_read=self.conditions_read,
            observations_read=self.observations_read,
        )


def agreed_birth_dates(patients: list[tuple[object, bool]]) -> tuple[date | None, date | None]:
    """The birth date every Patient resource of this patient agrees with, as the latest and
    the first day it can mean, else (None, None): age unknown. Only a valid Patient supplies
    it, but any one, valid or not, can contradict it. A partial date agrees with a fuller one
    it begins (``1981``, ``1981-05-04``): the fullest date a valid Patient gives is used."""
    given = [b.strip() for b, _ in patients if isinstance(b, str) and b.strip()]
    supplied = [b.strip() for b, valid in patients if valid and isinstance(b, str) and b.strip()]
    if not supplied:
        return None, None
    fullest = max(given, key=len)
    if not all(fullest.startswith(b) for b in given):
        return None, None  # two birth dates: which one is right is not ours to guess
    chosen = max(supplied, key=len)
    return latest_date(chosen), parse_date(chosen)


def names_a_table_row(resource: Mapping[str, Any], knowledge: Knowledge) -> bool:
    """The cheap first test, on the raw JSON: a coding that identifies a procedure-table row
    (a CPT code with a modifier, ``72141-26``, as its code)."""
    table, systems = knowledge.codes.procedure_by_code, knowledge.codes.system_uris
    cpt = knowledge.file.code_systems["cpt"].uri
    for concept in study_concepts(resource):
        for coding in as_list(as_dict(concept).get("coding")):
            system, code = as_dict(coding).get("system"), as_dict(coding).get("code")
            if not (isinstance(system, str) and isinstance(code, str)):
                continue
            canonical, value = systems.get(system, system), code.strip().upper()
            if canonical == cpt:
                value = value.split("-")[0].strip()
            if (canonical, value) in table:
                return True
    return False


def names_a_cervical_study(resource: Mapping[str, Any], knowledge: Knowledge) -> bool:
    """A study known only by its text: a cervical-spine word and an imaging word in a name
    of its code ("MRI C-spine w/o contrast", "XR cervical spine 2 views")."""
    words = knowledge.text.prior_imaging_words
    return any(
        words.spine.search(name) is not None and words.imaging.search(name) is not None
        for concept in study_concepts(resource)
        for name in names(concept)
    )


def images_the_cervical_spine(resource: Mapping[str, Any], knowledge: Knowledge) -> bool:
    """An ImagingStudy that names no row but whose series' body site, or whose description,
    is the cervical spine (a PACS often sends only modality and body site)."""
    if resource.get("resourceType") != "ImagingStudy":
        return False
    sites, systems = knowledge.codes.cervical_site_codes, knowledge.codes.system_uris
    for series in as_list(resource.get("series")):
        site = as_dict(as_dict(series).get("bodySite"))
        system, code = as_str(site.get("system")), as_str(site.get("code"))
        if system and code and sites.contains(systems.get(system, system), code):
            return True
        if any(knowledge.text.cervical_words.search(n) for n in names({"coding": [site]})):
            return True
    description = as_str(resource.get("description"))
    return description is not None and knowledge.text.cervical_words.search(description) is not None


def is_prior_study(resource: Mapping[str, Any], knowledge: Knowledge) -> bool:
    """The cheap first test of a Procedure, DiagnosticReport or ImagingStudy."""
    return (
        names_a_table_row(resource, knowledge)
        or images_the_cervical_spine(resource, knowledge)
        or names_a_cervical_study(resource, knowledge)
    )


def prior_study(
    resource: Mapping[str, Any], knowledge: Knowledge, patient_id: str, skipped: Skipped
) -> PriorStudyFact | None:
    """A cervical-spine study of this patient already in the record, or None. One the R4
    models reject still counts (it can only put the patient outside the variant)."""
    if not is_prior_study(resource, knowledge) or belongs_to_another_patient(resource, patient_id):
        return None
    is_valid(resource, skipped)  # logged (type and id) when rejected
    study = read_prior_study(resource, knowledge.codes.system_uris)
    if study.display is None and not names_a_table_row(resource, knowledge):
        modalities = sorted(
            {c for m in as_list(resource.get("modality")) if (c := as_str(as_dict(m).get("code")))}
        )
        shown = knowledge.file.texts.prior_study_by_site.format(
            modality="/".join(modalities) or "?"
        )
        study = replace(study, display=shown)
    return study
