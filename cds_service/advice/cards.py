"""The card of each appraised order: which kind of card its verdict calls for.

Every sentence comes from the knowledge file; these modules only arrange it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cds_service.advice.card_frame import CardFrame
from cds_service.advice.profiles import RULES
from cds_service.advice.rated_cards import RatedCards
from cds_service.advice.suggestions import Suggester
from cds_service.advice.unrated_cards import UnratedCards
from cds_service.appraisal.verdicts import Appraisal, Verdict
from cds_service.clinical.compiled_knowledge import Knowledge
from cds_service.protocol import Card
from cds_service.record.facts import Order
from cds_service.settings import EhrProfile


@dataclass(frozen=True)
class CardPolicy:
    """The configurable parts of the advice (see Settings)."""

    out_of_scope_cards: bool = True
    may_be_appropriate_rating: str = "appropriate"
    ehr_profile: EhrProfile = "sandbox"
    mri_order_coding: tuple[str, str] | None = None
    """The site's orderable for the MRI, as (system, code): the created order's first coding."""


class CardWriter:
    """Writes the card of each appraisal of one response, in order (the replacement by the
    MRI is offered once per response)."""

    def __init__(
        self, knowledge: Knowledge, policy: CardPolicy, now: datetime, mri: Sequence[Order]
    ) -> None:
        self.policy = policy
        rules = RULES[policy.ehr_profile]
        suggester = Suggester(
            knowledge,
            rules,
            policy.may_be_appropriate_rating,
            now,
            mri,
            site_coding=policy.mri_order_coding,
        )
        frame = CardFrame(knowledge, rules.selection_behavior)
        self.rated = RatedCards(frame, suggester)
        self.unrated = UnratedCards(frame)

    def card(self, appraisal: Appraisal) -> Card | None:
        """The card its verdict calls for; None when there is nothing to say."""
        verdict = appraisal.verdict
        if verdict is Verdict.RATED:
            if appraisal.category == "usually-not-appropriate":
                return self.rated.not_appropriate(appraisal)
            return self.rated.may_be_appropriate(appraisal)
        if verdict is Verdict.UNSPECIFIED:
            return self.rated.unspecified(appraisal)
        if verdict is Verdict.OTHER_REGION:
            return self.unrated.other_region(appraisal)
        if verdict is Verdict.VASCULAR_FINDING:
            return self.unrated.vascular_finding(appraisal)
        if verdict is Verdict.EXCLUDED:
            if appraisal.escalate:
                return self.unrated.escalation(appraisal)
            return self.unrated.out_of_scope(appraisal) if self.policy.out_of_scope_cards else None
        return None


def drafted_mri(
    orders: Sequence[Order], knowledge: Knowledge, site_coding: tuple[str, str] | None = None
) -> list[Order]:
    """The draft orders that already are the preferred MRI (by its codes, or the site's
    orderable: the MRI a card created in Epic may carry only that)."""
    preferred = knowledge.file.procedures_by_id[knowledge.file.preferred_procedure]
    codes = {
        (knowledge.file.code_systems[key].uri, code)
        for key, listed in preferred.codes.items()
        for code in listed
    }
    if site_coding is not None:
        codes.add(site_coding)
    return [o for o in orders if set(o.codes) & codes]
