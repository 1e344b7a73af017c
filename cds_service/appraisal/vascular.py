"""A vascular study for a recorded vascular finding is not this variant's question.

An MRA or CTA of the neck ordered for a patient whose record names a cervical artery
dissection or stenosis (a Condition's code or words, or the order's own reason) asks about that
finding. The variant (suspected cervicogenic headache, no neurologic deficit, initial imaging)
does not address it, so the order is not rated against the headache: the appraisal says so
(``Verdict.VASCULAR_FINDING``) instead of "Usually not appropriate". The codes, words and the
card's sentences are the knowledge file's ``vascular_findings``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cds_service.clinical.codes import any_match
from cds_service.clinical.compiled_knowledge import Knowledge
from cds_service.clinical.knowledge_schema import Procedure
from cds_service.record.facts import CodePair, ConditionFact, Order


@dataclass(frozen=True)
class VascularEvidence:
    """Where the record names the vascular finding: the order's reason (its codes and texts)
    or notes, else a Condition."""

    reason_codes: tuple[str, ...] = ()
    reason_texts: tuple[str, ...] = ()
    note: str | None = None
    condition: ConditionFact | None = None


def is_vascular_study(procedure: Procedure, knowledge: Knowledge) -> bool:
    return procedure.id in knowledge.vascular.vascular_procedures


def vascular_evidence(
    order: Order,
    reasons: Sequence[CodePair],
    conditions: Iterable[ConditionFact],
    knowledge: Knowledge,
) -> VascularEvidence | None:
    """The first place the record names a vascular finding, or None. ``reasons`` are the
    order's reason codes (reasonCode and what reasonReference cites); ``conditions`` the
    record's Conditions that may count (not refuted or entered in error: any clinical status,
    a past dissection included). Texts are read with ConText (vascular_reading.py)."""
    codes = knowledge.vascular.vascular_codes
    named = knowledge.vascular.names_vascular_finding
    asked = knowledge.vascular.order_names_vascular_finding
    coded = tuple(code for system, code in reasons if codes.contains(system, code))
    texts = tuple(text for text in order.reason_names if asked(text))
    if coded or texts:
        return VascularEvidence(reason_codes=coded, reason_texts=texts)
    note = next((text for text in order.notes if asked(text)), None)
    if note is not None:
        return VascularEvidence(note=note)
    for condition in conditions:
        if any_match(codes, condition.codes) or any(
            named(text) for text in (*condition.names, *condition.notes)
        ):
            return VascularEvidence(condition=condition)
    return None
