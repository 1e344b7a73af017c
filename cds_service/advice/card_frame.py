"""What every card of one response shares: its source, its link, the variant line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from cds_service.appraisal.criteria import Appraisal
from cds_service.clinical.knowledge import Knowledge, Procedure
from cds_service.protocol import Card, Coding, Link, Source

Indicator = Literal["info", "warning", "critical"]


class CardFrame:
    """Builds a card from its summary, its paragraphs and its indicator."""

    def __init__(self, knowledge: Knowledge) -> None:
        self.k = knowledge
        guideline = knowledge.guideline
        self.source = Source(
            label=guideline.source_label.format(id=knowledge.id, version=knowledge.version),
            url=guideline.url,
            topic=Coding(**guideline.topic.model_dump()),
        )
        self.links = [Link(label=knowledge.texts.link_label, url=guideline.url, type="absolute")]

    def card(self, summary: str, parts: Sequence[str], indicator: Indicator, **extra: Any) -> Card:
        """The card; empty paragraphs are left out, suggestions make it ``at-most-one``."""
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

    def variant_line(self) -> str:
        return self.k.texts.variant_line.format(variant=self.k.variant.title)


def procedure_of(appraisal: Appraisal) -> Procedure:
    """The table row of an appraisal that has one (every appraisal that gets a card)."""
    assert appraisal.procedure is not None
    return appraisal.procedure
