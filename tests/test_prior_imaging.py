"""Initial imaging: reading prior cervical-spine studies and the finding they make (pure core)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.builders import CPT, record_of, study
from support.clock import NOW

from cds_service.advice.evidence_text import evidence_text
from cds_service.appraisal.exclusions import patient_findings, prior_imaging_findings
from cds_service.clinical.knowledge_loader import PACKAGED_KNOWLEDGE, KnowledgeError, load_knowledge
from cds_service.record import prior_studies, selection
from cds_service.record.facts import PatientRecord

KNOWLEDGE = load_knowledge()


def evidence(*resources: dict[str, Any]) -> str | None:
    found = prior_imaging_findings(record_of(*resources), KNOWLEDGE, NOW)
    return evidence_text(found[0].evidence, KNOWLEDGE.file) if found else None


def test_only_studies_of_the_procedure_table_are_kept() -> None:
    record = record_of(
        study("Procedure", "72141"),
        study("Procedure", "73560"),  # knee radiograph
        study("Procedure", "62284"),  # a myelography injection alone is not a table row
        {"resourceType": "Procedure", "id": "x", "status": "completed"},
    )
    assert [s.codes for s in record.prior_studies] == [((CPT, "72141"),)]


@pytest.mark.parametrize(
    ("resource", "when"),
    [
        (study("Procedure", performedDateTime="2026-06-02T10:00:00Z"), "2026-06-02"),
        (study("Procedure", performedPeriod={"start": "2026-06-01", "end": "2026-06-02"}), None),
        (study("DiagnosticReport", effectiveDateTime="2026-06-02"), "2026-06-02"),
        (study("DiagnosticReport", issued="2026-06-02T10:00:00+02:00"), "2026-06-02"),
        (study("ImagingStudy", started="2026-06-02T10:00:00Z"), "2026-06-02"),
    ],
)
def test_the_date_of_each_kind_of_study(resource: dict[str, Any], when: str | None) -> None:
    [read] = record_of(resource).prior_studies
    assert read.date is not None
    assert read.date.date().isoformat() == (when or "2026-06-02")


def test_the_finding_names_the_study_from_the_table_with_its_type_and_date() -> None:
    found = evidence(study("Procedure", performedDateTime="2026-06-02T10:00:00Z"))
    assert found == "MRI cervical spine without IV contrast, Procedure, 2026-06-02"


def test_the_most_recent_study_is_named() -> None:
    older = study("Procedure", "72125", id="s0", performedDateTime="2026-03-01")
    newer = study("DiagnosticReport", "72141", id="s2", effectiveDateTime="2026-10-01")
    assert (
        evidence(older, newer)
        == "MRI cervical spine without IV contrast, DiagnosticReport, 2026-10-01"
    )


@pytest.mark.parametrize(
    ("kind", "status", "counts"),
    [
        ("Procedure", "not-done", False),
        ("Procedure", "entered-in-error", False),
        ("Procedure", "in-progress", True),
        ("Procedure", "unknown", True),
        ("Procedure", None, True),
        ("DiagnosticReport", "cancelled", False),
        ("DiagnosticReport", "entered-in-error", False),
        ("DiagnosticReport", "preliminary", True),
        ("ImagingStudy", "cancelled", False),
        ("ImagingStudy", "entered-in-error", False),
        ("ImagingStudy", "registered", True),
    ],
)
def test_statuses(kind: str, status: str | None, counts: bool) -> None:
    resource = study(kind, status=status)
    if status is None:
        del resource["status"]
    assert (evidence(resource) is not None) is counts


def test_the_look_back_and_an_undated_study() -> None:
    days = KNOWLEDGE.file.prior_imaging.lookback_days
    inside = (NOW - timedelta(days=days - 1)).isoformat()
    outside = (NOW - timedelta(days=days + 1)).isoformat()
    assert evidence(study("Procedure", performedDateTime=inside)) is not None
    assert evidence(study("Procedure", performedDateTime=outside)) is None
    undated = evidence(study("ImagingStudy"))
    assert undated is not None and undated.endswith("ImagingStudy, no date recorded")


def test_another_patients_study_is_ignored() -> None:
    other = study("Procedure", subject={"reference": "Patient/p2"})
    assert record_of(other).prior_studies == ()


def test_a_prior_study_puts_the_patient_outside_the_variant() -> None:
    record = PatientRecord(
        patient_id="p1",
        birth_date=datetime(1980, 1, 1).date(),
        prior_studies=record_of(study("Procedure", performedDateTime="2026-10-01")).prior_studies,
    )
    [finding] = patient_findings(record, KNOWLEDGE, NOW)
    assert finding.group_id == "prior-imaging"
    assert finding.label == KNOWLEDGE.file.prior_imaging.label
    assert finding.redirect == KNOWLEDGE.file.prior_imaging.redirect
    assert "follow-up imaging" in finding.redirect and not finding.escalate


def without_section(data: dict[str, Any]) -> None:
    del data["prior_imaging"]


def with_bad_evidence(data: dict[str, Any]) -> None:
    data["prior_imaging"]["evidence"] = "{procedure} on {when}"


def with_no_lookback(data: dict[str, Any]) -> None:
    data["prior_imaging"]["lookback_days"] = 0


@pytest.mark.parametrize("change", [without_section, with_bad_evidence, with_no_lookback])
def test_a_broken_prior_imaging_section_stops_start_up(tmp_path: Path, change: Any) -> None:
    data = yaml.safe_load(PACKAGED_KNOWLEDGE.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "knowledge.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(KnowledgeError, match="prior_imaging"):
        load_knowledge(path)


def test_each_study_is_judged_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The selection decides what is a prior study; the reader does not ask again."""
    judged: list[object] = []
    real = prior_studies.study_match

    def counted(resource: Any, knowledge: Any) -> Any:
        judged.append(resource.get("id"))
        return real(resource, knowledge)

    monkeypatch.setattr(selection, "study_match", counted)
    knee = study("Procedure", "73560") | {"id": "knee"}
    record = record_of(study("Procedure", "72141"), knee)
    assert judged == ["s1", "knee"]
    assert [s.id for s in record.prior_studies] == ["s1"]
