"""The cards of orders the table rates (or would rate, were the contrast stated)."""

from __future__ import annotations

from cds_service.advice.card_frame import CardFrame, procedure_of
from cds_service.advice.evidence_text import quote
from cds_service.advice.suggestions import Suggester
from cds_service.appraisal.verdicts import Appraisal
from cds_service.protocol import Card, Coding


class RatedCards:
    """Usually not appropriate (a warning with its suggestions), may be appropriate (info),
    contrast not stated (info, offering the MRI without contrast)."""

    def __init__(self, frame: CardFrame, suggester: Suggester) -> None:
        self.frame = frame
        self.k = frame.k
        self.suggester = suggester

    def not_appropriate(self, appraisal: Appraisal) -> Card:
        procedure = procedure_of(appraisal)
        texts = self.k.file.texts
        advice = texts.preferred_alternative if procedure.offer_replacement else texts.vascular_note
        return self.frame.card(
            appraisal,
            self._summary(texts.not_appropriate_summary, appraisal),
            self._rated_parts(appraisal, advice),
            "warning",
            suggestions=self.suggester.for_not_appropriate(appraisal, procedure),
            overrideReasons=[
                Coding(system=self.k.file.override_reason_system, code=r.code, display=r.display)
                for r in self.k.file.override_reasons
            ],
        )

    def may_be_appropriate(self, appraisal: Appraisal) -> Card:
        texts = self.k.file.texts
        parts = self._rated_parts(appraisal, texts.mri_advice, texts.mri_detail)
        return self.frame.card(
            appraisal, self._summary(texts.mri_summary, appraisal), parts, "info"
        )

    def unspecified(self, appraisal: Appraisal) -> Card:
        procedure, texts = procedure_of(appraisal), self.k.file.texts
        parts = [texts.unspecified_detail, self.frame.variant_line(), self._checked_line(appraisal)]
        return self.frame.card(
            appraisal,
            texts.unspecified_summary.format(procedure=procedure.name),
            parts,
            "info",
            suggestions=self.suggester.for_unspecified(appraisal, procedure),
        )

    def _summary(self, template: str, appraisal: Appraisal) -> str:
        assert appraisal.category is not None
        category = self.k.file.categories[appraisal.category].label
        return template.format(procedure=procedure_of(appraisal).name, category=category)

    def _rated_parts(self, appraisal: Appraisal, advice: str, why: str | None = None) -> list[str]:
        """The rating (and RRL) with what to do, then why (the row's rationale unless given),
        the variant, what was checked."""
        assert appraisal.category is not None and appraisal.rrl is not None
        rating = self.k.file.texts.rating_line.format(
            category=self.k.file.categories[appraisal.category].label,
            rrl=self.k.file.rrl_labels[appraisal.rrl],
        )
        return [
            f"{rating} {advice}",
            procedure_of(appraisal).rationale if why is None else why,
            self.frame.variant_line(),
            self._checked_line(appraisal),
        ]

    def _checked_line(self, appraisal: Appraisal) -> str:
        """Where the indication came from and what was read before rating the order."""
        texts, indication, checked = self.k.file.texts, appraisal.indication, appraisal.checked
        if indication is None or checked is None:
            return ""
        display = quote(indication.display) if indication.display else None
        evidence = ", ".join(p for p in (display, indication.code) if p)
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
