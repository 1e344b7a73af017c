"""Reading: the resources the selection kept, validated and read into the patient's record.

Each kept resource is read once (readers.py, observation_reading.py) into the plain facts of
:class:`~cds_service.record.facts.PatientRecord`. Conditions, Patients and prior studies are
validated with the R4B models first: one the models reject is logged and counted, and still
read (it may put the patient outside the variant, failing safe, but never supplies the
indication). Observations are read field by field on the JSON, not validated (see
readers.py). This is the one place where malformed content becomes "skipped", never a 500.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from cds_service.clinical.compiled_knowledge import Knowledge
from cds_service.record.facts import ConditionFact, ObservationFact, PatientRecord, PriorStudyFact
from cds_service.record.fhir_time import latest_date, parse_date
from cds_service.record.observation_reading import read_observations
from cds_service.record.prior_studies import PRIOR_STUDY_TYPES, StudyMatch
from cds_service.record.readers import (
    MALFORMED_CONTENT,
    Skipped,
    as_dict,
    as_list,
    as_str,
    is_valid,
    local_reference,
    read_condition,
    read_prior_study,
)
from cds_service.record.selection import Scanned


def read_selected(
    scans: Iterable[Scanned], patient_id: str, knowledge: Knowledge, skipped: Skipped
) -> PatientRecord:
    """The record of ``patient_id`` from what the pass kept of each value; each value's
    ``skipped`` is set to how many of its resources the models rejected."""
    reader = RecordReader(knowledge, patient_id, skipped)
    for scanned in scans:
        reader.conditions_read += scanned.conditions
        reader.observations_read += scanned.observations
        before = len(skipped.resources)
        for resource in scanned.kept:
            reader.read(resource)
        for study, match in scanned.studies:
            reader.read(study, match)
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

    def read(self, resource: dict[str, Any], study: StudyMatch | None = None) -> None:
        """Read one resource (a prior study when ``study`` says how it matched)."""
        try:  # the one place where malformed content becomes "skipped"
            if study is None:
                self.take(resource)
            else:
                self.take_study(resource, study)
        except MALFORMED_CONTENT:  # whatever a reader raises on content it cannot read
            self.skipped.add(resource)

    def take(self, resource: dict[str, Any]) -> None:
        kind, systems = resource.get("resourceType"), self.knowledge.codes.system_uris
        if kind in PRIOR_STUDY_TYPES:  # one the pass's tests could not judge: unreadable
            self.skipped.add(resource)
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

    def take_study(self, resource: dict[str, Any], match: StudyMatch) -> None:
        """A cervical-spine study of this patient already in the record. One the R4 models
        reject still counts (it can only put the patient outside the variant)."""
        if belongs_to_another_patient(resource, self.patient_id):
            return
        is_valid(resource, self.skipped)  # logged (type and id) when rejected
        study = read_prior_study(resource, self.knowledge.codes.system_uris)
        if study.display is None and match is not StudyMatch.TABLE_ROW:
            study = replace(study, display=self.by_site(resource))
        self.prior_studies.append(study)

    def by_site(self, resource: Mapping[str, Any]) -> str:
        """The display of a study known by its body site or words, not a table row."""
        modalities = {
            code
            for m in as_list(resource.get("modality"))
            if (code := as_str(as_dict(m).get("code")))
        }
        shown = "/".join(sorted(modalities)) or "?"
        return self.knowledge.file.texts.prior_study_by_site.format(modality=shown)

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
