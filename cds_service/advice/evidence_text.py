"""The evidence of a finding (appraisal/evidence.py) as the card says it, in the knowledge
file's words (``texts``, and ``prior_imaging.evidence``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import assert_never

from cds_service.appraisal.evidence import (
    ConditionShown,
    Evidence,
    NotAdult,
    ObservationShown,
    OrderNote,
    OrderReason,
    OrderReasonList,
    OtherRegions,
    PriorStudy,
    TemperatureFlagged,
    TemperatureReading,
    Weighed,
    WeightLoss,
)
from cds_service.clinical.card_texts import Texts
from cds_service.clinical.knowledge_schema import KnowledgeFile
from cds_service.clinical.units import Temperature
from cds_service.record.facts import ConditionFact
from cds_service.record.fhir_time import span_text
from cds_service.record.readers import UNRECOGNISED

QUOTE_LIMIT = 120


def evidence_text(evidence: Evidence | None, knowledge: KnowledgeFile) -> str:
    """The sentence naming where the record shows a finding ("" when there is none)."""
    texts = knowledge.texts
    match evidence:
        case None:
            return ""
        case ConditionShown(condition, None):
            return condition_text(condition, texts)
        case ConditionShown(condition, note):
            shown = texts.evidence_condition_note.format(evidence=quote(note or ""))
            return f"{condition_text(condition, texts)} {shown}"
        case OrderReason(names, codes):
            return texts.evidence_order_reason.format(evidence=display_then_code(names, codes))
        case OrderReasonList(codes, reasons):
            named = ", ".join([*codes, *(quote(t) for t in reasons)])
            return texts.evidence_order_reason.format(evidence=named)
        case OrderNote(note):
            return texts.evidence_order_note.format(evidence=quote(note))
        case OtherRegions(codes):
            return ", ".join(codes)
        case PriorStudy(name, resource_type, when):
            shown = when or texts.no_date
            return knowledge.prior_imaging.evidence.format(
                procedure=name, resource_type=resource_type, date=shown
            )
        case _:
            return patient_text(evidence, texts)


def patient_text(
    evidence: ObservationShown | NotAdult | TemperatureReading | TemperatureFlagged | WeightLoss,
    texts: Texts,
) -> str:
    """The evidence of the patient's age and readings."""
    match evidence:
        case ObservationShown(code, text, when):
            observed = code is not None
            template = texts.evidence_observation if observed else texts.evidence_observation_text
            shown = when or texts.no_date
            return template.format(code=code or "", evidence=quote(text), date=shown)
        case NotAdult(youngest, oldest):
            if youngest < 0:
                return texts.birth_date_in_future
            if youngest == oldest:
                return texts.not_adult_evidence.format(years=youngest)
            return texts.not_adult_evidence_partial.format(youngest=youngest, oldest=oldest)
        case TemperatureFlagged(label, when):
            shown = when or texts.no_date
            return texts.evidence_temperature_flagged.format(label=label, date=shown)
        case TemperatureReading(label, value, unit, reading, when):
            shown = unit_as_read(unit, reading, texts)
            on = when or texts.no_date
            return texts.evidence_temperature.format(
                label=label, value=f"{value:g}", unit=shown, date=on
            )
        case WeightLoss():
            return weight_loss_text(evidence, texts)
    assert_never(evidence)


def condition_text(condition: ConditionFact, texts: Texts) -> str:
    """``Radiculopathy, cervical region (M54.12, active, onset 2026-09-24)``."""
    code = condition.codes[0][1] if condition.codes else ""
    name = condition.display or code or texts.unnamed_condition
    details = [code] if code and name != code else []
    if condition.clinical_status == UNRECOGNISED:
        details.append(texts.status_unrecognised)
    else:
        details.append(condition.clinical_status or texts.status_not_recorded)
    if condition.onset:
        details.append(texts.onset.format(date=span_text(condition.onset_from, condition.onset)))
    elif condition.recorded:
        shown = span_text(condition.recorded_from, condition.recorded)
        details.append(texts.recorded.format(date=shown))
    else:
        details.append(texts.no_date)
    return texts.evidence_condition.format(name=name, details=", ".join(details))


def unit_as_read(unit: str | None, reading: Temperature, texts: Texts) -> str:
    """``Cel``; ``(no unit; read as Cel)``; ``mg (read as [degF])``."""
    given = (unit or "").strip()
    if not reading.inferred:
        return given or reading.unit
    if given:
        return texts.unit_reread.format(given=given, unit=reading.unit)
    return texts.unit_missing.format(unit=reading.unit)


def weight_loss_text(evidence: WeightLoss, texts: Texts) -> str:
    """``Body weight fell 7.3% (82 kg on 2026-06-26 to 76 kg on 2026-11-20)``; a reading
    with no date shows ``texts.no_date``, one dated by a month or year its date as recorded
    (``2026-10``), and the loss is said as possible."""
    heaviest, latest = evidence.heaviest, evidence.latest
    template = texts.evidence_weight_loss
    if heaviest.at is None or latest.at is None:
        template = texts.evidence_weight_loss_undated
    elif heaviest.until is not None or latest.until is not None:
        template = texts.evidence_weight_loss_partial
    return template.format(
        label=evidence.label,
        loss=f"{evidence.loss:.1f}",
        heaviest=weighed_text(heaviest, texts),
        heaviest_date=span_text(heaviest.at, heaviest.until) or texts.no_date,
        latest=weighed_text(latest, texts),
        latest_date=span_text(latest.at, latest.until) or texts.no_date,
    )


def weighed_text(weighed: Weighed, texts: Texts) -> str:
    """``81.6 kg`` (rounded, not 81.6466); ``80 (no unit; read as kg)``."""
    if weighed.assumed is None:
        return f"{round(weighed.kg, 1):g} kg"
    return f"{weighed.value:g} " + texts.unit_missing.format(unit=weighed.assumed)


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
