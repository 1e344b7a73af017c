"""The ACR rules: which orders they rate, whether the patient fits the variant, and the rating.

Pure: plain facts and a knowledge object in, :class:`Appraisal` out, the clock passed in. The
rules' parts: the table row of an order (table_rows.py), the indication (indication.py), what
puts a patient outside the variant (exclusions.py, observation_rules.py), a vascular study
(vascular.py); the answer's types are in verdicts.py, its evidence (data) in evidence.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from cds_service.appraisal.evidence import ConditionShown, OrderNote, OrderReasonList, OtherRegions
from cds_service.appraisal.exclusions import patient_findings, reason_findings
from cds_service.appraisal.indication import (
    IGNORED_VERIFICATION,
    indication_of,
    reason_codes,
    reason_index,
)
from cds_service.appraisal.table_rows import classify_order, other_region
from cds_service.appraisal.vascular import is_vascular_study, vascular_evidence
from cds_service.appraisal.verdicts import Appraisal, Checked, Finding, Verdict
from cds_service.clinical.compiled_knowledge import Knowledge
from cds_service.clinical.knowledge_schema import Procedure
from cds_service.record.facts import CodePair, Order, PatientRecord


def appraise(
    orders: Sequence[Order],
    record: PatientRecord,
    knowledge: Knowledge,
    now: datetime,
    references: Mapping[str, tuple[CodePair, ...]] | None = None,
    procedures: Sequence[Procedure | None] | None = None,
) -> list[Appraisal]:
    """Appraise each order. ``references`` maps ``Type/id`` (and a draft Bundle entry's
    ``urn:uuid:`` fullUrl) to codes, for reasonReference; ``procedures``, the table row of
    each order when the caller has classified them already."""
    index = reason_index(references, record)
    patient = PatientFindings(record, knowledge, now)
    rows = procedures if procedures is not None else [classify_order(o, knowledge) for o in orders]
    return [
        appraise_order(order, row, knowledge, index, patient)
        for order, row in zip(orders, rows, strict=True)
    ]


@dataclass
class PatientFindings:
    """The patient's exclusions, computed once and only if an order needs them."""

    record: PatientRecord
    knowledge: Knowledge
    now: datetime
    _found: tuple[Finding, ...] | None = None

    def __call__(self) -> tuple[Finding, ...]:
        if self._found is None:
            self._found = patient_findings(self.record, self.knowledge, self.now)
        return self._found

    @property
    def checked(self) -> Checked:
        return Checked(self.record.conditions_read, self.record.observations_read)


def appraise_order(
    order: Order,
    procedure: Procedure | None,
    knowledge: Knowledge,
    index: Mapping[str, tuple[CodePair, ...]],
    patient: PatientFindings,
) -> Appraisal:
    indication = indication_of(order, patient.record, knowledge, index) if procedure else None
    if procedure is None or indication is None:
        return Appraisal(order, Verdict.NOT_APPLICABLE, procedure)
    elsewhere = other_region(order, knowledge)
    if elsewhere:
        found = (Finding("other-region", "", OtherRegions(tuple(elsewhere)), ""),)
        return Appraisal(
            order, Verdict.OTHER_REGION, procedure, findings=found, indication=indication
        )
    vascular = vascular_finding(order, procedure, knowledge, index, patient.record)
    if vascular is not None:
        return Appraisal(
            order, Verdict.VASCULAR_FINDING, procedure, findings=(vascular,), indication=indication
        )
    excluded = reason_findings(order, knowledge, index) + patient()
    if excluded:
        return Appraisal(
            order, Verdict.EXCLUDED, procedure, findings=excluded, indication=indication
        )
    category, rrl = knowledge.file.rating_for(procedure)
    verdict = Verdict.RATED if category else Verdict.UNSPECIFIED
    return Appraisal(order, verdict, procedure, category, rrl, (), indication, patient.checked)


def vascular_finding(
    order: Order,
    procedure: Procedure,
    knowledge: Knowledge,
    index: Mapping[str, tuple[CodePair, ...]],
    record: PatientRecord,
) -> Finding | None:
    """A vascular study ordered for a recorded vascular finding (vascular.py), as a finding
    whose evidence names where the record says it."""
    if not is_vascular_study(procedure, knowledge):
        return None
    counted = (c for c in record.conditions if c.verification_status not in IGNORED_VERIFICATION)
    found = vascular_evidence(order, reason_codes(order, index), counted, knowledge)
    if found is None:
        return None
    evidence: ConditionShown | OrderNote | OrderReasonList
    if found.condition is not None:
        evidence = ConditionShown(found.condition)
    elif found.note is not None:
        evidence = OrderNote(found.note)
    else:
        evidence = OrderReasonList(found.reason_codes, found.reason_texts)
    return Finding("vascular-finding", "", evidence, "")
