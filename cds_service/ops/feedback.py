"""CDS Hooks feedback: each entry stored once, and an override remembered for the order when
the service says so (order-select), so that the same card is not shown again."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from cds_service.appraisal.labels import rating_or_verdict
from cds_service.ops.database import StoreJob, guarded
from cds_service.ops.tables import Appraised, Feedback, HookCall, OverriddenOrder
from cds_service.protocol import FeedbackEntry

log = logging.getLogger("cds_service.api")


@dataclass(frozen=True)
class FeedbackRow:
    card_uuid: str
    outcome: str
    outcome_timestamp: str
    accepted_suggestions: tuple[str, ...] = ()
    override_system: str | None = None
    override_code: str | None = None
    override_display: str | None = None
    has_user_comment: bool = False

    @classmethod
    def of(cls, entry: FeedbackEntry) -> FeedbackRow:
        """What is kept of an entry: the override reason's coding (the specification's
        ``overrideReason`` or Epic's ``overrideReasons``), not the comment's text."""
        reason, commented = entry.reason()
        return cls(
            card_uuid=entry.card,
            outcome=entry.outcome,
            outcome_timestamp=entry.outcomeTimestamp,
            accepted_suggestions=tuple(s.id for s in entry.acceptedSuggestions or ()),
            override_system=reason.system if reason else None,
            override_code=reason.code if reason else None,
            override_display=reason.display if reason else None,
            has_user_comment=commented,
        )

    def values(self, service: str, now: datetime) -> dict[str, Any]:
        """The row of the feedback table."""
        accepted = self.accepted_suggestions
        return {
            "service": service,
            "card_uuid": self.card_uuid,
            "outcome": self.outcome,
            "outcome_timestamp": self.outcome_timestamp,
            # not ASCII-escaped: a non-ASCII id would otherwise take six characters each
            "accepted_suggestions": json.dumps(list(accepted), ensure_ascii=False)
            if accepted
            else None,
            "override_system": self.override_system,
            "override_code": self.override_code,
            "override_display": self.override_display,
            "has_user_comment": self.has_user_comment,
            "received_at": now,
        }


class FeedbackLog(StoreJob):
    @guarded
    def record(
        self,
        service: str,
        rows: Sequence[FeedbackRow],
        now: datetime,
        *,
        remember_overrides: bool,
    ) -> int:
        """Store each entry once; a duplicate is ignored (``ON CONFLICT DO NOTHING``, so that
        concurrent deliveries of the same feedback, or of two overrides of one card, neither
        fail nor lose a row). Returns how many were new."""
        stored = 0
        for row in rows:
            with self.database.engine.begin() as connection:
                inserted = self.database.insert_once(connection, Feedback, row.values(service, now))
                if inserted and row.outcome == "overridden" and remember_overrides:
                    self._remember_override(connection, service, row.card_uuid, now)
            stored += 1 if inserted else 0
        return stored

    def _remember_override(
        self, connection: Connection, service: str, card_uuid: str, now: datetime
    ) -> None:
        """The card's order, procedure and rating, so that order-sign can recognise the same
        card; a card this service did not issue is not remembered."""
        found = connection.execute(
            select(
                HookCall.patient_id,
                Appraised.order_ref,
                Appraised.procedure,
                Appraised.rating,
                Appraised.verdict,
                Appraised.advice_key,
            )
            .join(HookCall, HookCall.id == Appraised.call_id)
            .where(Appraised.card_uuid == card_uuid, HookCall.service == service)
        ).first()
        if found is None or found.order_ref is None:
            return
        override = {
            "patient_id": found.patient_id,
            "order_ref": found.order_ref,
            "card_uuid": card_uuid,
            "procedure": found.procedure,
            "rating": rating_or_verdict(found.rating, found.verdict),
            "overridden_at": now,
            "advice_key": found.advice_key,
        }
        self.database.insert_once(connection, OverriddenOrder, override)

    @guarded
    def outcomes_per_card(self, service: str, cards: Iterable[str]) -> dict[str, set[str]]:
        """The outcomes stored so far for each of these cards of ``service``."""
        seen: dict[str, set[str]] = {}
        query = (
            select(Feedback.card_uuid, Feedback.outcome)
            .where(Feedback.service == service, Feedback.card_uuid.in_(list(cards)))
            .distinct()
        )
        with self.database.engine.connect() as connection:
            for card, outcome in connection.execute(query):
                seen.setdefault(card, set()).add(outcome)
        return seen


def log_feedback(
    feedback: FeedbackLog, service: str, rows: Sequence[FeedbackRow], new: int
) -> None:
    """One line per feedback POST (outcome counts and card ids, never a comment or a reason's
    text), and a warning for each card that now has more than one outcome (accepted, then
    overridden)."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.outcome] = counts.get(row.outcome, 0) + 1
    cards = sorted({row.card_uuid[:64] for row in rows})
    extra = {"service": service, "received": len(rows), "new": new, "outcomes": counts}
    log.info("feedback", extra={**extra, "cards": cards[:100]})
    if not new:
        return
    for card, outcomes in sorted(feedback.outcomes_per_card(service, cards).items()):
        if len(outcomes) > 1:
            log.warning(
                "conflicting feedback outcomes for one card",
                extra={"service": service, "card": card, "outcomes": sorted(outcomes)},
            )
