"""The sections of ``cds-service report`` beyond the per-(service, rating) lines: the override
reasons, the weeks, the silent calls (the cards they would have shown) and, only when asked
(it is staff data), the ordering clinicians.

Read from the store's ids, codes and counts; nothing here is free text from a record or a
comment."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from cds_service.appraisal.labels import rating_or_verdict
from cds_service.ops.database import Database
from cds_service.ops.report import Outcomes, report
from cds_service.ops.tables import Appraised, Feedback, HookCall

SILENT = "silent"
LIVE = "live"
NO_CARD = "(no card)"


@dataclass(frozen=True)
class AppraisalRow:
    """One appraised order with its call."""

    service: str
    rating: str
    indicator: str | None
    card_uuid: str | None
    call_id: int
    called_at: datetime
    mode: str
    user_id: str | None


def full_report(database: Database, *, by_clinician: bool = False) -> dict[str, Any]:
    """Every section; ``by_service_and_rating`` counts the live calls only (as the report
    always did), the silent ones are apart."""
    rows = _appraisals(database)
    outcomes = _outcomes(database)
    sections: dict[str, Any] = {
        "by_service_and_rating": report(database),
        "override_reasons": override_reasons(database),
        "by_week": tally(rows, outcomes, lambda r: {"week": iso_week(r.called_at), "mode": r.mode}),
        "silent": tally([r for r in rows if r.mode == SILENT], {}, shown_key, feedback=False),
    }
    if by_clinician:
        sections["by_clinician"] = tally(
            rows, outcomes, lambda r: {"clinician": r.user_id or "(not recorded)", "mode": r.mode}
        )
    return sections


def shown_key(row: AppraisalRow) -> dict[str, str]:
    """What a silent call would have shown: the card's indicator and the rating."""
    return {"service": row.service, "indicator": row.indicator or NO_CARD, "rating": row.rating}


def iso_week(when: datetime) -> str:
    """``2026-W48``: the ISO week of the call (UTC)."""
    year, week, _ = when.isocalendar()
    return f"{year}-W{week:02d}"


def tally(
    rows: Iterable[AppraisalRow],
    outcomes: Outcomes,
    key: Callable[[AppraisalRow], dict[str, str]],
    *,
    feedback: bool = True,
) -> list[dict[str, Any]]:
    """Calls, orders and cards (and, with ``feedback``, acceptances and overrides) per key."""
    lines: dict[tuple[str, ...], dict[str, Any]] = {}
    calls: dict[tuple[str, ...], set[int]] = {}
    for row in rows:
        fields = key(row)
        index = tuple(fields.values())
        counts = {"orders": 0, "cards": 0} | ({"accepted": 0, "overridden": 0} if feedback else {})
        line = lines.setdefault(index, {**fields, "calls": 0, **counts})
        calls.setdefault(index, set()).add(row.call_id)
        line["orders"] += 1
        if row.card_uuid:
            line["cards"] += 1
            for outcome, _ in outcomes.get(row.card_uuid, []) if feedback else ():
                line[outcome] += 1
    for index, line in lines.items():
        line["calls"] = len(calls[index])
    return [lines[k] for k in sorted(lines)]


def override_reasons(database: Database) -> list[dict[str, Any]]:
    """How many overrides gave each reason, per service (code, system and display as the EHR
    sent them; no reason at all is counted too)."""
    columns = (Feedback.override_system, Feedback.override_code, Feedback.override_display)
    query = select(Feedback.service, *columns).where(Feedback.outcome == "overridden")
    counts: dict[tuple[str, str, str, str], int] = {}
    with database.sessions() as session:
        for service, system, code, display in session.execute(query):
            index = (service, system or "", code or "", display or "")
            counts[index] = counts.get(index, 0) + 1
    return [
        {"service": s, "system": y, "code": c, "display": d, "overridden": counts[(s, y, c, d)]}
        for s, y, c, d in sorted(counts, key=lambda k: (k[0], -counts[k], k[1:]))
    ]


def _appraisals(database: Database) -> Sequence[AppraisalRow]:
    query = select(
        HookCall.service,
        Appraised.rating,
        Appraised.verdict,
        Appraised.indicator,
        Appraised.card_uuid,
        HookCall.id,
        HookCall.called_at,
        HookCall.mode,
        HookCall.user_id,
    ).join(HookCall, HookCall.id == Appraised.call_id)
    with database.sessions() as session:
        found = session.execute(query).all()
    return [
        AppraisalRow(
            service,
            rating_or_verdict(rating, verdict),
            indicator,
            card,
            call_id,
            called_at,
            SILENT if mode == SILENT else LIVE,
            user_id,
        )
        for service, rating, verdict, indicator, card, call_id, called_at, mode, user_id in found
    ]


def _outcomes(database: Database) -> Outcomes:
    outcomes: Outcomes = {}
    with database.sessions() as session:
        for card, outcome in session.execute(select(Feedback.card_uuid, Feedback.outcome)):
            outcomes.setdefault(card, []).append((outcome, None))
    return outcomes
