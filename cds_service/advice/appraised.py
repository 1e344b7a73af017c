"""One appraised order and everything said about it: the object the response, the audit row,
the log line and the metrics are all read from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cds_service.advice.cards import CardPolicy, CardWriter, drafted_mri
from cds_service.advice.pama import pama_code, rating_action
from cds_service.appraisal.labels import advice_key, rating_label
from cds_service.appraisal.verdicts import Appraisal, Verdict
from cds_service.clinical.compiled_knowledge import Knowledge
from cds_service.protocol import Action, Card, CdsResponse
from cds_service.record.facts import Order


@dataclass(frozen=True)
class AppraisedOrder:
    appraisal: Appraisal
    card: Card | None
    """The card shown for the order (None: nothing to say, or overridden at order-select)."""
    pama: str | None
    """The pama-rating code reported for the order (None: no systemAction)."""
    action: Action | None
    """The ``update`` systemAction carrying the pama-rating."""
    advice_key: str | None = None
    """The topic code of the advice (see labels.advice_key), shown or hidden."""

    @property
    def rating(self) -> str:
        """The ACR category, else the verdict: the word the logs, metrics and report use."""
        return rating_label(self.appraisal)

    @property
    def audited(self) -> bool:
        """Whether the store keeps it: every order the table knows, rated or not."""
        return self.appraisal.verdict is not Verdict.NOT_APPLICABLE


class Adviser:
    """The advice of one response, order after order (the MRI replacement is offered once)."""

    def __init__(
        self,
        knowledge: Knowledge,
        policy: CardPolicy,
        now: datetime,
        draft_orders: Sequence[Order],
    ) -> None:
        self.knowledge = knowledge
        self.rating = policy.may_be_appropriate_rating
        mri = drafted_mri(draft_orders, knowledge, policy.mri_order_coding)
        self.writer = CardWriter(knowledge, policy, now, mri)

    def advise(self, appraisal: Appraisal, *, hidden: bool = False) -> AppraisedOrder:
        """Card, pama-rating and systemAction; ``hidden``: the clinician already overrode
        this card (at order-select), so it keeps its rating but shows no card."""
        pama = pama_code(appraisal, self.knowledge, self.rating)
        card = None if hidden else self.writer.card(appraisal)
        action = rating_action(appraisal, self.knowledge, pama)
        return AppraisedOrder(appraisal, card, pama, action, advice_key(appraisal, self.knowledge))


def response_of(orders: Sequence[AppraisedOrder]) -> CdsResponse:
    """Cards and systemActions (mirrored under ``extension`` for the CDS Hooks sandbox)."""
    cards = [o.card for o in orders if o.card is not None]
    actions = [o.action for o in orders if o.action is not None]
    extension = {"systemActions": [a.model_dump(mode="json") for a in actions]} if actions else None
    return CdsResponse(cards=cards, systemActions=actions, extension=extension)
