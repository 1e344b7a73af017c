"""``cds-service report``: per service and rating, the calls, cards, acceptances, overrides and
override reasons."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import or_, select

from cds_service.appraisal.labels import rating_or_verdict
from cds_service.ops.database import Database
from cds_service.ops.tables import Appraised, Feedback, HookCall

Outcomes = dict[str, list[tuple[str, str | None]]]
"""Card uuid to its (outcome, override reason) pairs."""


def report(database: Database) -> list[dict[str, Any]]:
    """One line per (service, rating), sorted: the live calls (the silent ones showed no
    card; see report_views.py)."""
    with database.sessions() as session:
        appraisals = session.execute(
            select(
                HookCall.service,
                Appraised.rating,
                Appraised.verdict,
                Appraised.card_uuid,
                HookCall.id,
            )
            .join(HookCall, HookCall.id == Appraised.call_id)
            .where(or_(HookCall.mode.is_(None), HookCall.mode != "silent"))
        ).all()
        feedback = session.execute(
            select(
                Feedback.card_uuid,
                Feedback.outcome,
                Feedback.override_display,
                Feedback.override_code,
            )
        ).all()
    outcomes: Outcomes = {}
    for card_id, outcome, display, code in feedback:
        outcomes.setdefault(card_id, []).append((outcome, display or code))
    return _tabulate(appraisals, outcomes)


def _tabulate(appraisals: Iterable[Any], outcomes: Outcomes) -> list[dict[str, Any]]:
    table: dict[tuple[str, str], dict[str, Any]] = {}
    for service, rating, verdict, card_uuid, call_id in appraisals:
        key: tuple[str, str] = (service, rating_or_verdict(rating, verdict))
        line = table.setdefault(key, _empty_line(*key))
        line["calls"].add(call_id)
        line["orders"] += 1
        if card_uuid:
            line["cards"] += 1
            _count_outcomes(line, outcomes.get(card_uuid, []))
    for line in table.values():
        line["calls"] = len(line["calls"])
    return [table[k] for k in sorted(table)]


def _empty_line(service: str, rating: str) -> dict[str, Any]:
    return {
        "service": service,
        "rating": rating,
        "calls": set(),
        "orders": 0,
        "cards": 0,
        "accepted": 0,
        "overridden": 0,
        "reasons": {},
    }


def _count_outcomes(line: dict[str, Any], outcomes: list[tuple[str, str | None]]) -> None:
    for outcome, reason in outcomes:
        line[outcome] += 1
        if outcome == "overridden":
            label = reason or "(no reason given)"
            line["reasons"][label] = line["reasons"].get(label, 0) + 1


def format_report(lines: list[dict[str, object]]) -> str:
    """The report as a plain-text table, with the override reasons under each line."""
    if not lines:
        return "No hook calls recorded yet."
    header = (
        f"{'service':<14} {'rating':<34} {'calls':>6} {'orders':>7} {'cards':>6} "
        f"{'accepted':>9} {'overridden':>11}"
    )
    out = [header, "-" * len(header)]
    for line in lines:
        out.append(
            f"{line['service']!s:<14} {line['rating']!s:<34} {line['calls']!s:>6} "
            f"{line['orders']!s:>7} {line['cards']!s:>6} {line['accepted']!s:>9} "
            f"{line['overridden']!s:>11}"
        )
        reasons = line["reasons"]
        assert isinstance(reasons, dict)
        for reason, count in sorted(reasons.items(), key=lambda item: -item[1]):
            out.append(f"{'':<16}override reason: {reason} ({count})")
    return "\n".join(out)
