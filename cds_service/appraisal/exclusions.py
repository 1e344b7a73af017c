"""What puts the patient outside the variant: the exclusion groups (in the order's reason or
the record's Conditions and Observations), the age, and a prior cervical-spine study.

Each finding carries its evidence as data (appraisal/evidence.py); advice/ says it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta

from cds_service.appraisal.evidence import (
    ConditionShown,
    NotAdult,
    ObservationShown,
    OrderNote,
    OrderReason,
    PriorStudy,
)
from cds_service.appraisal.indication import IGNORED_VERIFICATION, is_current, reason_codes
from cds_service.appraisal.observation_rules import IGNORED_OBSERVATION_STATUS, observation_evidence
from cds_service.appraisal.verdicts import Finding
from cds_service.clinical.codes import any_match
from cds_service.clinical.compiled_knowledge import Knowledge
from cds_service.clinical.knowledge_schema import ExclusionGroup
from cds_service.record.facts import CodePair, ConditionFact, Order, PatientRecord, PriorStudyFact
from cds_service.record.fhir_time import span_text

UNREADABLE_CONDITION = "unreadable-condition"
"""The finding of a Condition whose code cannot be read (it may be any group's finding)."""
IGNORED_STUDY_STATUS = {
    "Procedure": frozenset({"not-done", "entered-in-error"}),
    "DiagnosticReport": frozenset({"cancelled", "entered-in-error"}),
    "ImagingStudy": frozenset({"cancelled", "entered-in-error"}),
}


def reason_findings(
    order: Order, knowledge: Knowledge, references: Mapping[str, tuple[CodePair, ...]]
) -> tuple[Finding, ...]:
    """Exclusions the clinician states on the order itself (its reasonCode or reasonReference)."""
    codes = reason_codes(order, references)
    affirms = knowledge.text.text_affirms
    findings = []
    for group in knowledge.file.exclusions:
        coded = [c for s, c in codes if knowledge.codes.exclusion_codes[group.id].contains(s, c)]
        named = [t for t in order.reason_names if affirms(group, (t,))]
        noted = [t for t in order.notes if affirms(group, (t,))]
        evidence: OrderReason | OrderNote
        if coded or named:
            evidence = OrderReason(tuple(named), tuple(coded))
        elif noted:
            evidence = OrderNote(noted[0])
        else:
            continue
        general = knowledge.codes.no_escalation_codes[group.id]
        only_general = (
            bool(coded)
            and not (named or noted)
            and all(general.contains(s, c) for s, c in codes if c in coded)
        )
        escalate = group.escalate_within_days is not None and not only_general
        findings.append(Finding(group.id, group.label, evidence, group.redirect, escalate))
    return tuple(findings)


def patient_findings(
    record: PatientRecord, knowledge: Knowledge, now: datetime
) -> tuple[Finding, ...]:
    """Everything that puts the patient outside the variant (empty: the variant applies)."""
    findings: list[Finding] = []
    age = age_finding(record, knowledge, now)
    if age:
        findings.append(age)
    for group in knowledge.file.exclusions:
        findings.extend(group_findings(group, record, knowledge, now))
    findings.extend(prior_imaging_findings(record, knowledge, now))
    findings.extend(unreadable_findings(record, knowledge))
    return tuple(findings)


def unreadable_findings(record: PatientRecord, knowledge: Knowledge) -> tuple[Finding, ...]:
    """A Condition whose code cannot be read may be any group's finding, and some groups
    count every clinical status (a history of malignancy): unless refuted or entered in
    error, it keeps the order from being rated (failing safe), named as the record gives it."""
    texts = knowledge.file.texts
    for condition in record.conditions:
        if condition.unreadable and condition.verification_status not in IGNORED_VERIFICATION:
            evidence = ConditionShown(condition)
            label, redirect = texts.unreadable_condition_label, texts.unreadable_condition
            return (Finding(UNREADABLE_CONDITION, label, evidence, redirect),)
    return ()


def age_finding(record: PatientRecord, knowledge: Knowledge, now: datetime) -> Finding | None:
    texts = knowledge.file.texts
    if record.birth_date is None:
        return Finding("age-unknown", texts.age_unknown_label, None, texts.age_unknown)
    today = now.date()
    youngest = age_on(today, record.birth_date)
    oldest = age_on(today, record.earliest_birth_date or record.birth_date)
    if youngest < knowledge.file.variant.minimum_age_years:  # a partial date: the youngest
        evidence = NotAdult(youngest, oldest)
        return Finding("not-adult", texts.not_adult_label, evidence, texts.not_adult)
    return None


def age_on(today: date, born: date) -> int:
    """Full years on ``today``."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def prior_imaging_findings(
    record: PatientRecord, knowledge: Knowledge, now: datetime
) -> tuple[Finding, ...]:
    """The variant is for initial imaging: a cervical-spine study already in the record puts
    the patient outside it. The most recent one is named (an undated one counts, failing safe)."""
    rule = knowledge.file.prior_imaging
    since = now - timedelta(days=rule.lookback_days)
    counted = [s for s in record.prior_studies if study_counts(s, since)]
    if not counted:
        return ()
    latest = max(counted, key=lambda s: (s.date is not None, s.date or now))
    return (Finding("prior-imaging", rule.label, prior_study(latest, knowledge), rule.redirect),)


def study_counts(study: PriorStudyFact, since: datetime) -> bool:
    """Not cancelled, not-done or entered in error (any other status, or none, counts), and
    done within the look-back or undated."""
    if study.status in IGNORED_STUDY_STATUS.get(study.resource_type, frozenset()):
        return False
    return study.date is None or study.date >= since


def prior_study(study: PriorStudyFact, knowledge: Knowledge) -> PriorStudy:
    """The study by the table's name of it, else by its own display, else its type."""
    table = knowledge.codes.procedure_by_code
    rows = (table.get((s, c.strip().upper())) for s, c in study.codes)
    procedure = next((row for row in rows if row is not None), None)
    name = procedure.name if procedure else study.display or study.resource_type
    return PriorStudy(name, study.resource_type, span_text(study.date_from, study.date))


def group_findings(
    group: ExclusionGroup, record: PatientRecord, knowledge: Knowledge, now: datetime
) -> list[Finding]:
    """The group's strongest finding (an escalating one first), or none."""
    findings = condition_findings(group, record, knowledge, now)
    findings.extend(observation_findings(group, record, knowledge, now))
    for rule in group.observations:
        evidence = observation_evidence(rule, record.observations, now)
        if evidence is not None:
            findings.append(Finding(group.id, group.label, evidence, group.redirect))
    return sorted(findings, key=lambda f: not f.escalate)[:1]


def condition_findings(
    group: ExclusionGroup, record: PatientRecord, knowledge: Knowledge, now: datetime
) -> list[Finding]:
    """Conditions whose code, name or note is the group's finding."""
    codes, affirms = knowledge.codes.exclusion_codes[group.id], knowledge.text.text_affirms
    findings: list[Finding] = []
    for condition in record.conditions:
        if not condition_counts(condition, group, now):
            continue
        coded = any_match(codes, condition.codes)
        if coded or affirms(group, condition.names):
            evidence = ConditionShown(condition)
        elif noted := [t for t in condition.notes if affirms(group, (t,))]:
            evidence = ConditionShown(condition, noted[0])
        else:
            continue
        escalate = is_new_deficit(condition, group, now, knowledge) and not (
            coded
            and not affirms(group, condition.notes)
            and any_match(knowledge.codes.no_escalation_codes[group.id], condition.codes)
        )
        findings.append(Finding(group.id, group.label, evidence, group.redirect, escalate))
        if escalate or group.escalate_within_days is None:
            break  # one piece of evidence names the group; a deficit looks on for a new one
    return findings


def observation_findings(
    group: ExclusionGroup, record: PatientRecord, knowledge: Knowledge, now: datetime
) -> list[Finding]:
    """An Observation whose code or coded value is one of the group's findings (an examination
    finding of numbness, say) and whose value does not deny it; undated ones count."""
    codes, affirms = knowledge.codes.exclusion_codes[group.id], knowledge.text.text_affirms
    days = group.inactive_lookback_days if group.status_policy == "active" else None
    since = now - timedelta(days=days) if days else None
    for obs in record.observations:
        if obs.status in IGNORED_OBSERVATION_STATUS or obs.absent:
            continue
        if since is not None and obs.latest is not None and obs.latest < since:
            continue  # a partial date ("2026-11") counts when any of its span is in the window
        named = [c for s, c in (*obs.codes, *obs.value_codes) if codes.contains(s, c)]
        said = obs.value_text is not None and affirms(group, (obs.value_text,))
        titled = [t for t in obs.names if affirms(group, (t,))]
        if named or said or titled:
            evidence = ObservationShown(
                named[0] if named else None,
                obs.value_text if said and obs.value_text else [*titled, ""][0],
                span_text(obs.effective, obs.effective_until),
            )
            escalate = group.escalate_within_days is not None and (
                obs.latest is None or obs.latest >= now - timedelta(days=group.escalate_within_days)
            )
            return [Finding(group.id, group.label, evidence, group.redirect, escalate)]
    return []


def condition_counts(condition: ConditionFact, group: ExclusionGroup, now: datetime) -> bool:
    if condition.verification_status in IGNORED_VERIFICATION:
        return False
    if group.status_policy == "any" or is_current(condition):
        return True
    if group.inactive_lookback_days is None:
        return False
    latest = most_recent_date(condition)
    return latest is not None and latest >= now - timedelta(days=group.inactive_lookback_days)


def is_new_deficit(
    condition: ConditionFact, group: ExclusionGroup, now: datetime, knowledge: Knowledge
) -> bool:
    """A current deficit whose onset (else recorded date) is within the window, or undated,
    or whose text calls it new or progressive."""
    if group.escalate_within_days is None or not is_current(condition):
        return False
    if knowledge.text.text_escalates(group, (*condition.names, *condition.notes)):
        return True
    if knowledge.text.note_escalates(group, condition.notes):
        return True
    started = condition.onset or condition.recorded
    return started is None or started >= now - timedelta(days=group.escalate_within_days)


def most_recent_date(condition: ConditionFact) -> datetime | None:
    dates = [d for d in (condition.onset, condition.recorded, condition.abatement) if d]
    return max(dates) if dates else None
