"""Appraisals to advice: one card per appraised order, and the pama-rating systemActions.

Every sentence comes from the knowledge file; this module only arranges it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from cds_service.advice.pama import pama_code, rating_action
from cds_service.advice.suggestions import ReplaceAction, Suggester
from cds_service.appraisal.criteria import Appraisal, Finding, Verdict
from cds_service.clinical.knowledge import Knowledge, Procedure
from cds_service.protocol import SUMMARY_MAX, Card, CdsResponse, Coding, Link, Source
from cds_service.record.facts import Order

Indicator = Literal["info", "warning", "critical"]


@dataclass(frozen=True)
class CardPolicy:
    """The configurable parts of the advice (see Settings)."""

    out_of_scope_cards: bool = True
    may_be_appropriate_rating: str = "appropriate"
    replace_action: ReplaceAction = "update"


@dataclass(frozen=True)
class Advice:
    response: CdsResponse
    cards: tuple[Card | None, ...]
    """The card shown for each appraisal, in the same order (None: no card)."""
    ratings: tuple[str | None, ...]
    """The pama-rating code reported for each appraisal (None: no systemAction)."""


def respond(
    appraisals: Sequence[Appraisal],
    draft_orders: Sequence[Order],
    knowledge: Knowledge,
    policy: CardPolicy,
    now: datetime,
    hidden: frozenset[str] = frozenset(),
) -> Advice:
    """Cards and systemActions for a hook call (systemActions mirrored for the sandbox).

    ``hidden``: orders whose card the clinician already overrode; they keep their rating.
    """
    writer = CardWriter(knowledge, policy, now, drafted_mri(draft_orders, knowledge))
    cards = tuple(None if a.order.reference in hidden else writer.card(a) for a in appraisals)
    rating = policy.may_be_appropriate_rating
    actions = [a for a in (rating_action(x, knowledge, rating) for x in appraisals) if a]
    extension = {"systemActions": [a.model_dump(mode="json") for a in actions]} if actions else None
    response = CdsResponse(
        cards=[c for c in cards if c is not None], systemActions=actions, extension=extension
    )
    return Advice(response, cards, tuple(pama_code(a, knowledge, rating) for a in appraisals))


def drafted_mri(orders: Sequence[Order], knowledge: Knowledge) -> list[Order]:
    """The draft orders that already are the preferred MRI."""
    preferred = knowledge.procedures_by_id[knowledge.preferred_procedure]
    codes = {
        (knowledge.code_systems[key].uri, code)
        for key, listed in preferred.codes.items()
        for code in listed
    }
    return [o for o in orders if set(o.codes) & codes]


class CardWriter:
    """Writes the card of each appraisal of one response."""

    def __init__(
        self, knowledge: Knowledge, policy: CardPolicy, now: datetime, mri: Sequence[Order]
    ) -> None:
        self.k = knowledge
        self.policy = policy
        self.suggester = Suggester(
            knowledge, policy.replace_action, policy.may_be_appropriate_rating, now, mri
        )
        guideline = knowledge.guideline
        self.source = Source(
            label=guideline.source_label.format(id=knowledge.id, version=knowledge.version),
            url=guideline.url,
            topic=Coding(**guideline.topic.model_dump()),
        )
        self.links = [Link(label=knowledge.texts.link_label, url=guideline.url, type="absolute")]

    def card(self, appraisal: Appraisal) -> Card | None:
        verdict = appraisal.verdict
        if verdict is Verdict.RATED:
            if appraisal.category == "usually-not-appropriate":
                return self.not_appropriate(appraisal)
            return self.may_be_appropriate(appraisal)
        if verdict is Verdict.UNSPECIFIED:
            return self.unspecified(appraisal)
        if verdict is Verdict.OTHER_REGION:
            return self.other_region(appraisal)
        if verdict is Verdict.EXCLUDED:
            if appraisal.escalate:
                return self.escalation(appraisal)
            return self.out_of_scope(appraisal) if self.policy.out_of_scope_cards else None
        return None

    def _card(self, summary: str, parts: Sequence[str], indicator: Indicator, **extra: Any) -> Card:
        if extra.get("suggestions"):
            extra["selectionBehavior"] = "at-most-one"
        return Card(
            summary=summary,
            detail="\n\n".join(p for p in parts if p),
            indicator=indicator,
            source=self.source,
            links=self.links,
            **extra,
        )

    # ------------------------------------------------------------------ rated orders

    def not_appropriate(self, appraisal: Appraisal) -> Card:
        procedure = _procedure(appraisal)
        texts = self.k.texts
        advice = texts.preferred_alternative if procedure.offer_replacement else texts.vascular_note
        return self._card(
            self._summary(texts.not_appropriate_summary, appraisal),
            self._rated_parts(appraisal, advice),
            "warning",
            suggestions=self.suggester.for_not_appropriate(appraisal, procedure),
            overrideReasons=[
                Coding(system=self.k.override_reason_system, code=r.code, display=r.display)
                for r in self.k.override_reasons
            ],
        )

    def may_be_appropriate(self, appraisal: Appraisal) -> Card:
        texts = self.k.texts
        parts = self._rated_parts(appraisal, texts.mri_detail)
        return self._card(self._summary(texts.mri_summary, appraisal), parts, "info")

    def unspecified(self, appraisal: Appraisal) -> Card:
        procedure, texts = _procedure(appraisal), self.k.texts
        parts = [
            texts.unspecified_detail,
            texts.preferred_alternative,
            self._variant_line(),
            self._checked_line(appraisal),
        ]
        return self._card(
            texts.unspecified_summary.format(procedure=procedure.name),
            parts,
            "info",
            suggestions=self.suggester.for_unspecified(appraisal, procedure),
        )

    def _summary(self, template: str, appraisal: Appraisal) -> str:
        assert appraisal.category is not None
        category = self.k.categories[appraisal.category].label
        return template.format(procedure=_procedure(appraisal).name, category=category)

    def _rated_parts(self, appraisal: Appraisal, advice: str) -> list[str]:
        """Rating and RRL, the row's rationale, the advice, the variant, what was checked."""
        assert appraisal.category is not None and appraisal.rrl is not None
        rating = self.k.texts.rating_line.format(
            category=self.k.categories[appraisal.category].label,
            rrl=self.k.rrl_labels[appraisal.rrl],
        )
        return [
            rating,
            _procedure(appraisal).rationale,
            advice,
            self._variant_line(),
            self._checked_line(appraisal),
        ]

    def _variant_line(self) -> str:
        return self.k.texts.variant_line.format(variant=self.k.variant.title)

    def _checked_line(self, appraisal: Appraisal) -> str:
        """Where the indication came from and what was read before rating the order."""
        texts, indication, checked = self.k.texts, appraisal.indication, appraisal.checked
        if indication is None or checked is None:
            return ""
        evidence = ", ".join(p for p in (indication.display, indication.code) if p)
        source = (
            texts.indication_order
            if indication.source == "order"
            else texts.indication_problem_list
        )
        return texts.checked.format(
            indication=source.format(evidence=evidence),
            conditions=checked.conditions,
            observations=checked.observations,
        )

    # ------------------------------------------------------------------ not rated

    def other_region(self, appraisal: Appraisal) -> Card:
        texts = self.k.texts
        evidence = ", ".join(f.evidence for f in appraisal.findings)
        return self._card(
            texts.other_region_summary.format(procedure=_procedure(appraisal).name),
            [texts.other_region_detail.format(evidence=evidence), self._variant_line()],
            "info",
        )

    def out_of_scope(self, appraisal: Appraisal) -> Card:
        texts = self.k.texts
        unconfirmed = all(f.group_id == "age-unknown" for f in appraisal.findings)
        if unconfirmed:
            summary, intro = texts.unconfirmed_summary, texts.unconfirmed_intro
        else:
            labels = [f.label for f in appraisal.findings]
            summary, intro = self._fit(texts.excluded_summary, labels), texts.excluded_intro
        parts = [intro.format(variant=self.k.variant.title), *self._findings(appraisal.findings)]
        return self._card(summary, parts, "info")

    def escalation(self, appraisal: Appraisal) -> Card:
        """A deficit that may be new: the seed's call for urgent escalation, with the evidence."""
        texts = self.k.texts
        deficits = [f for f in appraisal.findings if f.escalate]
        others = [f for f in appraisal.findings if not f.escalate]
        bullets = "\n".join(self._finding_line(f) for f in deficits)
        parts = [texts.escalation_detail, bullets, *(self._findings(others) if others else [])]
        return self._card(texts.escalation_summary, parts, "warning")

    def _finding_line(self, finding: Finding) -> str:
        if not finding.evidence:
            return f"- **{finding.label}**"
        return self.k.texts.finding_line.format(label=finding.label, evidence=finding.evidence)

    def _findings(self, findings: Sequence[Finding]) -> list[str]:
        """A bullet per finding with its evidence, then where the guideline sends each."""
        bullets = "\n".join(self._finding_line(f) for f in findings)
        return [bullets, *dict.fromkeys(f.redirect for f in findings)]

    def _fit(self, template: str, parts: list[str]) -> str:
        """Fill ``template`` with as many findings as fit under the summary limit."""
        texts = self.k.texts
        for count in range(len(parts), 0, -1):
            rest = len(parts) - count
            shown = "; ".join(parts[:count])
            text = texts.more_findings.format(shown=shown, rest=rest) if rest else shown
            summary = template.format(reasons=text)
            if len(summary) <= SUMMARY_MAX:
                return summary
        return template.format(reasons=texts.findings_count.format(count=len(parts)))[:SUMMARY_MAX]


def _procedure(appraisal: Appraisal) -> Procedure:
    assert appraisal.procedure is not None
    return appraisal.procedure
