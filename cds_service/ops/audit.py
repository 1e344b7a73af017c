"""The audit trail: every hook call and what it advised for each order, and the look-up of
the cards a clinician overrode (so that order-sign does not show them again)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, select

from cds_service.advice.appraised import AppraisedOrder
from cds_service.clinical.compiled_knowledge import Knowledge
from cds_service.ops.database import StoreJob, guarded
from cds_service.ops.tables import Appraised, HookCall, OverriddenOrder


@dataclass(frozen=True)
class AuditRow:
    """What the store keeps of one appraised order: ids, codes, ratings, card uuids, and the
    knowledge file (id and version) that appraised it."""

    order_ref: str | None
    procedure: str | None
    verdict: str
    rating: str | None
    pama: str | None
    card_uuid: str | None
    indicator: str | None
    advice_key: str | None
    knowledge_id: str
    knowledge_version: str

    @classmethod
    def of(cls, order: AppraisedOrder, knowledge: Knowledge) -> AuditRow:
        appraisal, card = order.appraisal, order.card
        return cls(
            order_ref=appraisal.order.reference,
            procedure=appraisal.procedure.id if appraisal.procedure else None,
            verdict=appraisal.verdict.value,
            rating=appraisal.category,
            pama=order.pama,
            card_uuid=card.uuid if card else None,
            indicator=card.indicator if card else None,
            advice_key=order.advice_key,
            knowledge_id=knowledge.file.id,
            knowledge_version=knowledge.file.version,
        )


def audit_rows(orders: Iterable[AppraisedOrder], knowledge: Knowledge) -> list[AuditRow]:
    """The rows of the orders the store keeps (those the table knows)."""
    return [AuditRow.of(order, knowledge) for order in orders if order.audited]


# Built once: a statement built per call cost more than the query (SQLAlchemy's construction
# and cache key), on every order-sign call.
_INSERT_CALL = insert(HookCall).returning(HookCall.id)
_INSERT_APPRAISED = insert(Appraised)
_OVERRIDDEN = select(OverriddenOrder.order_ref, OverriddenOrder.advice_key).where(
    OverriddenOrder.patient_id == bindparam("patient_id"),
    OverriddenOrder.order_ref.in_(bindparam("refs", expanding=True)),
    OverriddenOrder.overridden_at >= bindparam("since"),
)


class AuditTrail(StoreJob):
    @guarded
    def record_call(
        self,
        hook_instance: str,
        service: str,
        called_at: datetime,
        patient_id: str,
        rows: Sequence[AuditRow],
        *,
        silent: bool = False,
        user_id: str | None = None,
    ) -> None:
        """One transaction: the call, then its appraised orders (Core inserts: this is hot).
        ``silent``: the call was answered with no card (CDS_MODE=silent); ``user_id``: the
        ordering clinician as the EHR sent it."""
        call = {
            "hook_instance": hook_instance,
            "service": service,
            "called_at": called_at,
            "patient_id": patient_id,
            "mode": "silent" if silent else "live",
            "user_id": user_id,
        }
        with self.database.engine.begin() as connection:
            call_id = connection.execute(_INSERT_CALL, call).scalar_one()
            if rows:
                values = [{"call_id": call_id, **asdict(row)} for row in rows]
                connection.execute(_INSERT_APPRAISED, values)

    @guarded
    def overridden_orders(
        self, patient_id: str, order_refs: Iterable[str], since: datetime
    ) -> set[tuple[str, str | None]]:
        """(order, advice key) of this patient's cards the clinician overrode since ``since``
        at a service that remembers overrides."""
        refs = [r for r in order_refs if r]
        if not refs:
            return set()
        values = {"patient_id": patient_id, "refs": refs, "since": since}
        with self.database.engine.connect() as connection:  # Core: runs on every order-sign
            return {(ref, key) for ref, key in connection.execute(_OVERRIDDEN, values)}
