"""Appraisals to advice: one card per appraised order, and the pama-rating systemActions.

Every sentence comes from the knowledge file; this module only arranges it.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cds_service.criteria import Appraisal, Verdict
from cds_service.facts import Order
from cds_service.knowledge import Knowledge, Procedure
from cds_service.protocol import (
    SUMMARY_MAX,
    Action,
    Card,
    CdsResponse,
    Coding,
    Link,
    Source,
    Suggestion,
    new_uuid,
)

PAMA_EXTENSION = "http://fhir.org/argonaut/Extension/pama-rating"
PAMA_SYSTEM = "http://fhir.org/argonaut/CodeSystem/pama-rating"
PAMA_DISPLAY = {
    "appropriate": "Appropriate",
    "not-appropriate": "Not appropriate",
    "no-criteria-apply": "No criteria apply",
}


@dataclass(frozen=True)
class CardPolicy:
    """The configurable parts of the advice (see Settings)."""

    out_of_scope_cards: bool = True
    may_be_appropriate_rating: str = "appropriate"


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
    preferred = knowledge.procedures_by_id[knowledge.preferred_procedure]
    preferred_codes = {
        (knowledge.code_systems[key].uri, code)
        for key, codes in preferred.codes.items()
        for code in codes
    }
    preferred_orders = [o for o in draft_orders if set(o.codes) & preferred_codes]
    writer = _Writer(knowledge, policy, now, preferred_orders)
    cards = tuple(None if a.order.reference in hidden else writer.card(a) for a in appraisals)
    actions = [action for a in appraisals if (action := writer.rating_action(a)) is not None]
    extension = {"systemActions": [a.model_dump(mode="json") for a in actions]} if actions else None
    response = CdsResponse(
        cards=[c for c in cards if c is not None], systemActions=actions, extension=extension
    )
    return Advice(response, cards, tuple(writer.pama_code(a) for a in appraisals))


class _Writer:
    def __init__(
        self,
        knowledge: Knowledge,
        policy: CardPolicy,
        now: datetime,
        preferred_orders: Sequence[Order],
    ) -> None:
        self.k = knowledge
        self.policy = policy
        self.now = now
        self.preferred_orders = preferred_orders
        self.preferred_drafted = bool(preferred_orders)
        guideline = knowledge.guideline
        self.source = Source(
            label=guideline.source_label,
            url=guideline.url,
            topic=Coding(**guideline.topic.model_dump()),
        )
        self.links = [Link(label=knowledge.texts.link_label, url=guideline.url, type="absolute")]

    # ------------------------------------------------------------------ cards

    def card(self, appraisal: Appraisal) -> Card | None:
        if appraisal.verdict is Verdict.RATED:
            if appraisal.category == "usually-not-appropriate":
                return self.not_appropriate(appraisal)
            return self.may_be_appropriate(appraisal)
        if appraisal.verdict is Verdict.UNSPECIFIED:
            return self.unspecified(appraisal)
        if appraisal.verdict is Verdict.EXCLUDED:
            if appraisal.escalate:
                return self.escalation(appraisal)
            return self.out_of_scope(appraisal) if self.policy.out_of_scope_cards else None
        return None

    def _card(self, summary: str, detail: str, indicator: str, **extra: Any) -> Card:
        return Card(
            summary=summary,
            detail=detail,
            indicator=indicator,  # type: ignore[arg-type]
            source=self.source,
            links=self.links,
            **extra,
        )

    def _rating_line(self, appraisal: Appraisal) -> str:
        assert appraisal.category is not None and appraisal.rrl is not None
        label = self.k.categories[appraisal.category].label
        rrl = self.k.rrl_labels[appraisal.rrl]
        return f"**ACR rating: {label}** · Relative Radiation Level {rrl}"

    def _variant_line(self) -> str:
        return f"*ACR variant: {self.k.variant.title}*"

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

    def not_appropriate(self, appraisal: Appraisal) -> Card:
        suggestions = self.suggestions(appraisal, conservative=True)
        return self._rated(
            appraisal,
            self.k.texts.not_appropriate_summary,
            self.k.texts.preferred_alternative,
            "warning",
            suggestions=suggestions,
            selectionBehavior="at-most-one" if suggestions else None,
            overrideReasons=[
                Coding(system=self.k.override_reason_system, code=r.code, display=r.display)
                for r in self.k.override_reasons
            ],
        )

    def may_be_appropriate(self, appraisal: Appraisal) -> Card:
        return self._rated(appraisal, self.k.texts.mri_summary, self.k.texts.mri_detail, "info")

    def _rated(
        self, appraisal: Appraisal, summary: str, advice: str, indicator: str, **extra: Any
    ) -> Card:
        """A rated order: summary, rating and RRL, the row's rationale, the advice, variant."""
        procedure = _procedure(appraisal)
        assert appraisal.category is not None
        category = self.k.categories[appraisal.category].label
        detail = "\n\n".join(
            [
                self._rating_line(appraisal),
                procedure.rationale,
                advice,
                self._variant_line(),
                self._checked_line(appraisal),
            ]
        )
        return self._card(
            summary.format(procedure=procedure.name, category=category),
            detail,
            indicator,
            **extra,
        )

    def unspecified(self, appraisal: Appraisal) -> Card:
        procedure = _procedure(appraisal)
        summary = self.k.texts.unspecified_summary.format(procedure=procedure.name)
        detail = "\n\n".join(
            [
                self.k.texts.unspecified_detail,
                self.k.texts.preferred_alternative,
                self._variant_line(),
                self._checked_line(appraisal),
            ]
        )
        suggestions = self.suggestions(appraisal, conservative=False)
        return self._card(
            summary,
            detail,
            "info",
            suggestions=suggestions,
            selectionBehavior="at-most-one" if suggestions else None,
        )

    def out_of_scope(self, appraisal: Appraisal) -> Card:
        texts = self.k.texts
        summary = _fit(texts.excluded_summary, "reasons", [f.label for f in appraisal.findings])
        unconfirmed = all(f.group_id == "age-unknown" for f in appraisal.findings)
        intro = texts.unconfirmed_intro if unconfirmed else texts.excluded_intro
        detail = "\n\n".join(
            [intro.format(variant=self.k.variant.title), *self._findings(appraisal)]
        )
        return self._card(summary, detail, "info")

    def escalation(self, appraisal: Appraisal) -> Card:
        """A deficit that may be new: the seed's call for urgent escalation, with the evidence."""
        deficits = [f"- {f.evidence}" for f in appraisal.findings if f.escalate and f.evidence]
        others = [f for f in appraisal.findings if not f.escalate]
        parts = [self.k.texts.escalation_detail, "\n".join(deficits)]
        if others:
            parts.extend(
                self._findings(
                    Appraisal(appraisal.order, appraisal.verdict, findings=tuple(others))
                )
            )
        return self._card(
            self.k.texts.escalation_summary, "\n\n".join(p for p in parts if p), "warning"
        )

    def _findings(self, appraisal: Appraisal) -> list[str]:
        """A bullet per finding with its evidence, then where the guideline sends each."""
        bullets = "\n".join(
            f"- **{f.label}**" + (f": {f.evidence}" if f.evidence else "")
            for f in appraisal.findings
        )
        return [bullets, *dict.fromkeys(f.redirect for f in appraisal.findings)]

    # ------------------------------------------------------------------ suggestions

    def suggestions(self, appraisal: Appraisal, *, conservative: bool) -> list[Suggestion]:
        """Replace with the preferred MRI (or only remove, when it is drafted already), and
        remove the imaging altogether. None is marked recommended: the seed rates even the MRI
        only May be appropriate (Disagreement)."""
        order, procedure = appraisal.order, _procedure(appraisal)
        if order.reference is None:  # an order without id cannot be deleted or replaced
            return []
        texts = self.k.texts
        remove = self._delete(order, procedure.name)
        preferred = self.k.procedures_by_id[self.k.preferred_procedure]
        found: list[Suggestion] = []
        if self.preferred_drafted:
            found.append(Suggestion(label=texts.keep_existing_label, actions=[remove]))
        elif procedure.offer_replacement:
            create = Action(
                type="create",
                description=f"Order {preferred.name}",
                resource=self.replacement(order),
            )
            found.append(Suggestion(label=texts.replace_label, actions=[remove, create]))
        if conservative:
            if self.preferred_drafted:
                also = [
                    self._delete(o, preferred.name) for o in self.preferred_orders if o.reference
                ]
                found.append(
                    Suggestion(label=texts.conservative_all_label, actions=[remove, *also])
                )
            else:
                found.append(Suggestion(label=texts.conservative_label, actions=[remove]))
        return found

    @staticmethod
    def _delete(order: Order, name: str) -> Action:
        return Action(
            type="delete", description=f"Remove the draft order: {name}", resourceId=order.reference
        )

    def replacement(self, order: Order) -> dict[str, Any]:
        """A complete draft ServiceRequest for the preferred MRI, carrying the order's context."""
        preferred = self.k.procedures_by_id[self.k.preferred_procedure]
        coding = [
            {"system": self.k.code_systems[key].uri, "code": codes[0], "display": preferred.name}
            for key, codes in preferred.codes.items()
            if key in ("cpt", "loinc") and codes
        ]
        raw = order.raw
        resource: dict[str, Any] = {
            "resourceType": "ServiceRequest",
            "id": new_uuid(),
            "status": "draft",
            "intent": raw.get("intent") or "order",
            "code": {"coding": coding, "text": preferred.name},
            "authoredOn": self.now.isoformat(),
        }
        for field in (
            "category",
            "priority",
            "subject",
            "encounter",
            "requester",
            "reasonCode",
            "reasonReference",
        ):
            if raw.get(field):
                resource[field] = copy.deepcopy(raw[field])
        return resource

    # ------------------------------------------------------------------ systemActions

    def pama_code(self, appraisal: Appraisal) -> str | None:
        """The Argonaut pama-rating for an appraised order, or None when it has no rating."""
        if appraisal.order.id is None:
            return None  # nothing can reference the order to update it
        if appraisal.verdict is Verdict.EXCLUDED:
            return "no-criteria-apply"
        if appraisal.verdict is Verdict.RATED and appraisal.category:
            pama = self.k.categories[appraisal.category].pama_rating
            return self.policy.may_be_appropriate_rating if pama == "configurable" else pama
        return None

    def rating_action(self, appraisal: Appraisal) -> Action | None:
        """An update adding the Argonaut pama-rating extension to the draft order."""
        pama = self.pama_code(appraisal)
        if pama is None:
            return None
        codings = [_pama(pama)]
        if appraisal.verdict is Verdict.RATED and appraisal.category:
            category = self.k.categories[appraisal.category]
            codings.append(
                {
                    "system": self.k.rating_code_system,
                    "code": appraisal.category,
                    "display": category.label,
                }
            )
        resource = copy.deepcopy(appraisal.order.raw)
        extensions = [
            e
            for e in resource.get("extension") or ()
            if not (isinstance(e, dict) and e.get("url") == PAMA_EXTENSION)
        ]
        extensions.append({"url": PAMA_EXTENSION, "valueCodeableConcept": {"coding": codings}})
        resource["extension"] = extensions
        return Action(
            type="update",
            description=(
                "Record the rating on the order: "
                + (f"ACR {codings[1]['display']}; " if len(codings) > 1 else "")
                + f"pama-rating {pama}"
            ),
            resource=resource,
        )


def _pama(code: str) -> dict[str, str]:
    return {"system": PAMA_SYSTEM, "code": code, "display": PAMA_DISPLAY[code]}


def _procedure(appraisal: Appraisal) -> Procedure:
    assert appraisal.procedure is not None
    return appraisal.procedure


def _fit(template: str, field: str, parts: list[str]) -> str:
    """Fill ``template`` with as many parts as fit under the summary limit."""
    for count in range(len(parts), 0, -1):
        rest = len(parts) - count
        text = "; ".join(parts[:count]) + (f" and {rest} more" if rest else "")
        summary = template.format(**{field: text})
        if len(summary) <= SUMMARY_MAX:
            return summary
    return template.format(**{field: f"{len(parts)} findings"})[:SUMMARY_MAX]
