"""Suspected cervicogenic headache: the order's reason, or the problem list when it has none;
and which of the record's Conditions a rule may trust (their verification and status)."""

from __future__ import annotations

from collections.abc import Mapping

from cds_service.appraisal.verdicts import Indication
from cds_service.clinical.compiled_knowledge import Knowledge
from cds_service.record.facts import CodePair, ConditionFact, Order, PatientRecord
from cds_service.record.readers import local_reference

INACTIVE_STATUSES = frozenset({"inactive", "remission", "resolved"})
IGNORED_VERIFICATION = frozenset({"refuted", "entered-in-error"})


def reason_index(
    references: Mapping[str, tuple[CodePair, ...]] | None, record: PatientRecord
) -> dict[str, tuple[CodePair, ...]]:
    """What a reasonReference may cite: the draft Bundle's entries, and the record's
    trustworthy Conditions."""
    index = dict(references or {})
    for condition in record.conditions:
        trusted = condition.validated and condition.verification_status not in (
            IGNORED_VERIFICATION
        )
        if condition.id and trusted:
            index.setdefault(f"Condition/{condition.id}", condition.codes)
    return index


def indication_of(
    order: Order,
    record: PatientRecord,
    knowledge: Knowledge,
    references: Mapping[str, tuple[CodePair, ...]],
) -> Indication | None:
    """Suspected cervicogenic headache: the order's reason, or the problem list if it has none."""
    wanted = knowledge.codes.indication_codes
    if order.reason_codes or order.reason_references:
        for system, code in reason_codes(order, references):
            if wanted.contains(system, code):
                return Indication(
                    "order", code, order.reason_names[0] if order.reason_names else None
                )
        return None
    for condition in record.conditions:
        if condition.validated and is_current(condition):
            for system, code in condition.codes:
                if wanted.contains(system, code):
                    return Indication("problem-list", code, condition.display)
    return None


def reason_codes(order: Order, references: Mapping[str, tuple[CodePair, ...]]) -> list[CodePair]:
    """The order's reasonCode codings and those of the resources its reasonReference names
    (in the record, in the draft Bundle, or contained in the order)."""
    codes = list(order.reason_codes)
    for reference in order.reason_references:
        key = local_reference(reference)
        codes.extend(order.contained.get(key) or references.get(key, ()))
    return codes


def is_current(condition: ConditionFact) -> bool:
    """Not refuted or entered in error, and not recorded as inactive, in remission or resolved:
    active, or a status missing or unrecognised (failing safe, it counts)."""
    if condition.verification_status in IGNORED_VERIFICATION:
        return False
    return condition.clinical_status not in INACTIVE_STATUSES
