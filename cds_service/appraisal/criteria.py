"""The ACR rules: which orders they rate, whether the patient fits the variant, and the rating.

Pure: plain facts and a knowledge object in, :class:`Appraisal` out, the clock passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Literal

from cds_service.appraisal.vascular import is_vascular_study, vascular_evidence
from cds_service.clinical.card_texts import Texts
from cds_service.clinical.codes import any_match
from cds_service.clinical.compiled_knowledge import Knowledge
from cds_service.clinical.knowledge_schema import (
    CategoryKey,
    ExclusionGroup,
    FeverRule,
    Procedure,
    RrlKey,
    WeightLossRule,
)
from cds_service.clinical.units import Temperature, read_temperature, to_kilograms
from cds_service.record.facts import (
    CodePair,
    ConditionFact,
    ObservationFact,
    Order,
    PatientRecord,
    PriorStudyFact,
)
from cds_service.record.observation_reading import reads
from cds_service.record.readers import UNRECOGNISED, local_reference

ACTIVE_STATUSES = frozenset({"active", "recurrence", "relapse"})
INACTIVE_STATUSES = frozenset({"inactive", "remission", "resolved"})
IGNORED_VERIFICATION = frozenset({"refuted", "entered-in-error"})
IGNORED_OBSERVATION_STATUS = frozenset({"cancelled", "entered-in-error"})
IGNORED_STUDY_STATUS = {
    "Procedure": frozenset({"not-done", "entered-in-error"}),
    "DiagnosticReport": frozenset({"cancelled", "entered-in-error"}),
    "ImagingStudy": frozenset({"cancelled", "entered-in-error"}),
}


class Verdict(StrEnum):
    RATED = "rated"
    """A row of the procedure table (or an order whose possible rows all agree)."""
    UNSPECIFIED = "unspecified"
    """Contrast is not specified and the possible rows are rated differently."""
    EXCLUDED = "excluded"
    """The indication is present but the patient falls outside the variant."""
    OTHER_REGION = "other-region"
    """A cervical study ordered together with another body region: not rated as cervical."""
    VASCULAR_FINDING = "vascular-finding"
    """A vascular study (MRA, CTA of the neck) for a recorded vascular finding: not this
    variant's question (vascular.py)."""
    NOT_APPLICABLE = "not-applicable"
    """Not an order of the table, or no suspected cervicogenic headache: say nothing."""


@dataclass(frozen=True)
class Finding:
    """Why the patient falls outside the variant."""

    group_id: str
    label: str
    evidence: str
    redirect: str
    escalate: bool = False


@dataclass(frozen=True)
class Indication:
    """Where the suspected cervicogenic headache came from: the order's reason or the
    problem list, and the code (with its display when the record gives one)."""

    source: Literal["order", "problem-list"]
    code: str
    display: str | None = None


@dataclass(frozen=True)
class Checked:
    """What the appraisal read before finding nothing that excludes the patient."""

    conditions: int
    observations: int


@dataclass(frozen=True)
class Appraisal:
    order: Order
    verdict: Verdict
    procedure: Procedure | None = None
    category: CategoryKey | None = None
    rrl: RrlKey | None = None
    findings: tuple[Finding, ...] = ()
    indication: Indication | None = None
    checked: Checked | None = None

    @property
    def escalate(self) -> bool:
        return any(f.escalate for f in self.findings)


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
        found = (Finding("other-region", "", ", ".join(elsewhere), ""),)
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
    texts = knowledge.file.texts
    if found.condition is not None:
        evidence = condition_evidence(found.condition, texts)
    elif found.note is not None:
        evidence = texts.evidence_order_note.format(evidence=quote(found.note))
    else:
        named = [*found.reason_codes, *(quote(t) for t in found.reason_texts)]
        evidence = texts.evidence_order_reason.format(evidence=", ".join(named))
    return Finding("vascular-finding", "", evidence, "")


RRL_ORDER = ("not stated", "O", "☢", "☢☢", "☢☢☢", "☢☢☢☢", "☢☢☢☢☢")


def classify_order(order: Order, knowledge: Knowledge) -> Procedure | None:
    """The table row an order's codes identify; None for other orders or conflicting codes.

    Codes that identify a study only together win (CT myelography: 72126 with 62284); a row
    that states the contrast wins over an unspecified entry it is a candidate of; codings of
    rows rated alike give the row with the highest radiation level; rows rated differently
    give None (no rating is better than a guessed one).
    """
    codes = {(system, code.strip().upper()) for system, code in order.codes}
    for combination, procedure in knowledge.codes.procedure_combinations:
        if combination <= codes:
            return procedure
    cervical = says_cervical(order, knowledge)
    found: list[Procedure] = []
    for pair in sorted(codes):
        row = knowledge.codes.procedure_by_code.get(pair)
        if row is None or row in found:
            continue
        if pair in knowledge.codes.site_required_codes and not cervical:
            continue  # 72020: a radiograph of some level of the spine, not said to be cervical
        found.append(row)
    stated = {p.id for p in found if not p.candidates}
    found = [p for p in found if not (p.candidates and stated & set(p.candidates))]
    if not found or len({knowledge.file.rating_for(p)[0] for p in found}) != 1:
        return None
    return max(
        found, key=lambda p: RRL_ORDER.index(knowledge.file.rating_for(p)[1] or "not stated")
    )


def says_cervical(order: Order, knowledge: Knowledge) -> bool:
    """The order's bodySite is the cervical spine, or its code's text names it."""
    if any_match(knowledge.codes.cervical_site_codes, order.body_sites):
        return True
    return any(knowledge.text.cervical_words.search(text) for text in order.code_texts)


def other_region(order: Order, knowledge: Knowledge) -> list[str]:
    """The codes (of the order's code or bodySite) that name another body region."""
    other = knowledge.codes.other_region_codes
    return [
        code for system, code in (*order.codes, *order.body_sites) if other.contains(system, code)
    ]


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


def reason_findings(
    order: Order, knowledge: Knowledge, references: Mapping[str, tuple[CodePair, ...]]
) -> tuple[Finding, ...]:
    """Exclusions the clinician states on the order itself (its reasonCode or reasonReference)."""
    codes = reason_codes(order, references)
    texts = knowledge.file.texts
    findings = []
    for group in knowledge.file.exclusions:
        coded = [c for s, c in codes if knowledge.codes.exclusion_codes[group.id].contains(s, c)]
        named = [t for t in order.reason_names if knowledge.text.text_affirms(group, (t,))]
        noted = [t for t in order.notes if knowledge.text.text_affirms(group, (t,))]
        if coded or named:
            evidence = texts.evidence_order_reason.format(evidence=display_then_code(named, coded))
        elif noted:
            evidence = texts.evidence_order_note.format(evidence=quote(noted[0]))
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


QUOTE_LIMIT = 120


def display_then_code(names: Sequence[str], codes: Sequence[str]) -> str:
    """``“Fever (finding)” (386661006)``: each text once, quoted, then the codes."""
    unique: dict[str, str] = {}
    for text in names:
        unique.setdefault(" ".join(text.split()).casefold(), text)
    shown = ", ".join(quote(t) for t in unique.values())
    listed = ", ".join(dict.fromkeys(codes))
    return f"{shown} ({listed})" if shown and listed else shown or listed


def quote(text: str) -> str:
    """A text as the card quotes it: on one line, in quotes, cut at 120 characters."""
    flat = " ".join(text.split())
    if len(flat) > QUOTE_LIMIT:
        flat = flat[: QUOTE_LIMIT - 1].rstrip() + "…"
    return f"“{flat}”"


def is_current(condition: ConditionFact) -> bool:
    """Not refuted or entered in error, and not recorded as inactive, in remission or resolved:
    active, or a status missing or unrecognised (failing safe, it counts)."""
    if condition.verification_status in IGNORED_VERIFICATION:
        return False
    return condition.clinical_status not in INACTIVE_STATUSES


# --------------------------------------------------------------------------- the patient


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
    return tuple(findings)


def age_finding(record: PatientRecord, knowledge: Knowledge, now: datetime) -> Finding | None:
    texts = knowledge.file.texts
    if record.birth_date is None:
        return Finding("age-unknown", texts.age_unknown_label, "", texts.age_unknown)
    today = now.date()
    youngest = age_on(today, record.birth_date)
    oldest = age_on(today, record.earliest_birth_date or record.birth_date)
    if (
        youngest < knowledge.file.variant.minimum_age_years
    ):  # a partial date: the youngest it can be
        if youngest < 0:
            evidence = texts.birth_date_in_future
        elif youngest == oldest:
            evidence = texts.not_adult_evidence.format(years=youngest)
        else:
            evidence = texts.not_adult_evidence_partial.format(youngest=youngest, oldest=oldest)
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
    return (Finding("prior-imaging", rule.label, study_evidence(latest, knowledge), rule.redirect),)


def study_counts(study: PriorStudyFact, since: datetime) -> bool:
    """Not cancelled, not-done or entered in error (any other status, or none, counts), and
    done within the look-back or undated."""
    if study.status in IGNORED_STUDY_STATUS.get(study.resource_type, frozenset()):
        return False
    return study.date is None or study.date >= since


def study_evidence(study: PriorStudyFact, knowledge: Knowledge) -> str:
    """``MRI cervical spine without IV contrast, Procedure, 2026-06-02``: the table's name."""
    rows = (knowledge.codes.procedure_by_code.get((s, c.strip().upper())) for s, c in study.codes)
    procedure = next((row for row in rows if row is not None), None)
    name = procedure.name if procedure else study.display or study.resource_type
    when = study.date.date().isoformat() if study.date else knowledge.file.texts.no_date
    return knowledge.file.prior_imaging.evidence.format(
        procedure=name, resource_type=study.resource_type, date=when
    )


def group_findings(
    group: ExclusionGroup, record: PatientRecord, knowledge: Knowledge, now: datetime
) -> list[Finding]:
    codes = knowledge.codes.exclusion_codes[group.id]
    findings: list[Finding] = []
    for condition in record.conditions:
        if not condition_counts(condition, group, now):
            continue
        coded = any_match(codes, condition.codes)
        if coded or knowledge.text.text_affirms(group, condition.names):
            evidence = condition_evidence(condition, knowledge.file.texts)
        elif noted := [t for t in condition.notes if knowledge.text.text_affirms(group, (t,))]:
            evidence = (
                condition_evidence(condition, knowledge.file.texts)
                + " "
                + (knowledge.file.texts.evidence_condition_note.format(evidence=quote(noted[0])))
            )
        else:
            continue
        escalate = is_new_deficit(condition, group, now, knowledge) and not (
            coded
            and not knowledge.text.text_affirms(group, condition.notes)
            and any_match(knowledge.codes.no_escalation_codes[group.id], condition.codes)
        )
        findings.append(Finding(group.id, group.label, evidence, group.redirect, escalate))
        if escalate or group.escalate_within_days is None:
            break  # one piece of evidence names the group; a deficit looks on for a new one
    findings.extend(observation_findings(group, record, knowledge, now))
    for rule in group.observations:
        evidence = observation_evidence(rule, record.observations, now, knowledge.file.texts)
        if evidence:
            findings.append(Finding(group.id, group.label, evidence, group.redirect))
    return sorted(findings, key=lambda f: not f.escalate)[:1]


def observation_findings(
    group: ExclusionGroup, record: PatientRecord, knowledge: Knowledge, now: datetime
) -> list[Finding]:
    """An Observation whose code or coded value is one of the group's findings (an examination
    finding of numbness, say) and whose value does not deny it; undated ones count."""
    codes = knowledge.codes.exclusion_codes[group.id]
    days = group.inactive_lookback_days if group.status_policy == "active" else None
    since = now - timedelta(days=days) if days else None
    for obs in record.observations:
        if obs.status in IGNORED_OBSERVATION_STATUS or obs.absent:
            continue
        if since is not None and obs.effective is not None and obs.effective < since:
            continue
        named = [c for s, c in (*obs.codes, *obs.value_codes) if codes.contains(s, c)]
        said = obs.value_text is not None and knowledge.text.text_affirms(group, (obs.value_text,))
        titled = [t for t in obs.names if knowledge.text.text_affirms(group, (t,))]
        if named or said or titled:
            when = obs.effective.date().isoformat() if obs.effective else None
            template = (
                knowledge.file.texts.evidence_observation
                if named
                else knowledge.file.texts.evidence_observation_text
            )
            evidence = template.format(
                code=named[0] if named else "",
                evidence=quote(obs.value_text if said and obs.value_text else [*titled, ""][0]),
                date=when or knowledge.file.texts.no_date,
            )
            escalate = group.escalate_within_days is not None and (
                obs.effective is None
                or obs.effective >= now - timedelta(days=group.escalate_within_days)
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


def condition_evidence(condition: ConditionFact, texts: Texts) -> str:
    """``Radiculopathy, cervical region (M54.12, active, onset 2026-09-24)``."""
    code = condition.codes[0][1] if condition.codes else ""
    name = condition.display or code or texts.unnamed_condition
    details = [code] if code and name != code else []
    if condition.clinical_status == UNRECOGNISED:
        details.append(texts.status_unrecognised)
    else:
        details.append(condition.clinical_status or texts.status_not_recorded)
    if condition.onset:
        details.append(texts.onset.format(date=condition.onset.date()))
    elif condition.recorded:
        details.append(texts.recorded.format(date=condition.recorded.date()))
    else:
        details.append(texts.no_date)
    return texts.evidence_condition.format(name=name, details=", ".join(details))


def observation_evidence(
    rule: FeverRule | WeightLossRule,
    observations: Iterable[ObservationFact],
    now: datetime,
    texts: Texts,
) -> str:
    """Text naming the Observation(s) that meet the rule, or "" when none do."""
    relevant = [
        o
        for o in observations
        if o.status not in IGNORED_OBSERVATION_STATUS
        and (o.value is not None or o.flagged_high)
        and o.effective is not None
        and o.effective <= now + timedelta(days=1)
        and reads(rule, o.codes, o.unit)
    ]
    if isinstance(rule, FeverRule):
        return fever_evidence(rule, relevant, now, texts)
    return weight_loss_evidence(rule, relevant, now, texts)


def fever_evidence(
    rule: FeverRule, observations: list[ObservationFact], now: datetime, texts: Texts
) -> str:
    since = now - timedelta(days=rule.lookback_days)
    limit = min(t.minimum if t.unit == "Cel" else (t.minimum - 32) * 5 / 9 for t in rule.thresholds)
    for obs in sorted(observations, key=lambda o: o.effective or now, reverse=True):
        assert obs.effective is not None
        if obs.value is None:  # flagged high, no value: a fever, failing safe
            if obs.effective >= since:
                return texts.evidence_temperature_flagged.format(
                    label=rule.label, date=obs.effective.date()
                )
            continue
        reading = read_temperature(obs.value, obs.unit)
        if obs.effective >= since and reading is not None and reading.celsius >= limit - 1e-9:
            return texts.evidence_temperature.format(
                label=rule.label,
                value=f"{obs.value:g}",
                unit=unit_as_read(obs.unit, reading, texts),
                date=obs.effective.date(),
            )
    return ""


def unit_as_read(unit: str | None, reading: Temperature, texts: Texts) -> str:
    """``Cel``; ``(no unit; read as Cel)``; ``mg (read as [degF])``."""
    given = (unit or "").strip()
    if not reading.inferred:
        return given or reading.unit
    if given:
        return texts.unit_reread.format(given=given, unit=reading.unit)
    return texts.unit_missing.format(unit=reading.unit)


def weight_loss_evidence(
    rule: WeightLossRule, observations: list[ObservationFact], now: datetime, texts: Texts
) -> str:
    since = now - timedelta(days=rule.window_days)
    readings = [
        o
        for o in observations
        if o.effective is not None and o.effective >= since and o.value is not None
    ]  # (a weight flagged high without a value says nothing of a loss)
    unitless = any(not (o.unit or "").strip() for o in readings)
    for unitless_as in ("kg", "[lb_av]") if unitless else ("kg",):  # each way it could be
        series = sorted(
            (o.effective, *weighed)
            for o in readings
            if o.effective is not None
            and (weighed := weight_as_read(o, unitless_as, texts)) is not None
        )
        evidence = loss_evidence(rule, series, texts)
        if evidence:
            return evidence
    return ""


def weight_as_read(
    obs: ObservationFact, unitless_as: str, texts: Texts
) -> tuple[float, str] | None:
    """The reading in kilograms and as the card shows it (``81.6 kg``; ``80 (no unit; read as
    kg)``), or None when its unit is no mass unit."""
    assert obs.value is not None
    if (obs.unit or "").strip():
        kg = to_kilograms(obs.value, obs.unit)
        return None if kg is None else (kg, f"{round(kg, 1):g} kg")  # not 81.6466
    kg = to_kilograms(obs.value, unitless_as)
    assert kg is not None
    return kg, f"{obs.value:g} " + texts.unit_missing.format(unit=unitless_as)


def loss_evidence(
    rule: WeightLossRule, series: list[tuple[datetime, float, str]], texts: Texts
) -> str:
    if len(series) < 2:
        return ""
    latest_at, latest, latest_shown = series[-1]
    heaviest_at, heaviest, heaviest_shown = max(series[:-1], key=lambda point: point[1])
    if heaviest <= 0:
        return ""
    loss = (heaviest - latest) / heaviest * 100
    if loss + 1e-9 < rule.minimum_loss_percent:
        return ""
    return texts.evidence_weight_loss.format(
        label=rule.label,
        loss=f"{loss:.1f}",
        heaviest=heaviest_shown,
        heaviest_date=heaviest_at.date(),
        latest=latest_shown,
        latest_date=latest_at.date(),
    )
