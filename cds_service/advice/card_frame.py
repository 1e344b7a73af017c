"""What every card of one response shares: its source, its link, the variant line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from cds_service.advice.profiles import SelectionBehavior
from cds_service.appraisal.labels import advice_of
from cds_service.appraisal.verdicts import Appraisal
from cds_service.clinical.compiled_knowledge import Knowledge
from cds_service.clinical.knowledge_schema import Procedure
from cds_service.clinical.topics import topic_of
from cds_service.protocol import Card, Coding, Link, Source

Indicator = Literal["info", "warning", "critical"]


class CardFrame:
    """Builds a card from its summary, its paragraphs and its indicator."""

    def __init__(self, knowledge: Knowledge, selection: SelectionBehavior = "at-most-one") -> None:
        self.k = knowledge
        self.selection = selection
        guideline = knowledge.file.guideline
        self.label = guideline.source_label.format(
            id=knowledge.file.id, version=knowledge.file.version
        )
        self.links = [
            Link(label=knowledge.file.texts.link_label, url=guideline.url, type="absolute")
        ]

    def card(
        self,
        appraisal: Appraisal,
        summary: str,
        parts: Sequence[str],
        indicator: Indicator,
        **extra: Any,
    ) -> Card:
        """The card of ``appraisal``, its topic the advice's; empty paragraphs are left out;
        with suggestions, the profile's ``selectionBehavior``."""
        if extra.get("suggestions"):
            extra["selectionBehavior"] = self.selection
        return Card(
            summary=summary,
            detail="\n\n".join(p for p in parts if p),
            indicator=indicator,
            source=self.source(appraisal),
            links=self.links,
            **extra,
        )

    def source(self, appraisal: Appraisal) -> Source:
        advice = advice_of(appraisal, self.k)
        assert advice is not None  # every verdict that gets a card gives an advice
        topic = topic_of(self.k.file, advice)
        coding = Coding(system=self.k.file.topics.system, code=topic.code, display=topic.display)
        return Source(label=self.label, url=self.k.file.guideline.url, topic=coding)

    def variant_line(self) -> str:
        return self.k.file.texts.variant_line.format(variant=self.k.file.variant.title)


def procedure_of(appraisal: Appraisal) -> Procedure:
    """The table row of an appraisal that has one (every appraisal that gets a card)."""
    assert appraisal.procedure is not None
    return appraisal.procedure
