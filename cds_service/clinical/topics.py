"""A topic per advice: the knowledge file's ``topics`` section, and which advice needs one.

Each card carries, as ``source.topic``, the code of the advice it gives: the same advice, the
same code, whatever the patient (Epic remembers a clinician's override against that code, so
one code for every card would let overriding one card silence another). An advice is a pair:

    kind    what the card says: an ACR category (a rated row), ``unspecified`` (contrast not
            stated), ``other-region``, ``out-of-variant``, ``escalation``...
    about   what it says it of: a procedure row's id, an exclusion group's id, or a reason of
            the rules (``not-adult``, ``age-unknown``, ``prior-imaging``,
            ``unreadable-condition``)

A new kind of card needs a kind (``advice_of`` in appraisal/labels.py), a function below that
names the advice the file must give a topic (``REQUIRED``), and the topics in the file. A file
without a topic for an advice the cards can give does not load.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

if TYPE_CHECKING:
    from cds_service.clinical.knowledge_schema import KnowledgeFile

TOPIC_CODE = re.compile(r"[A-Za-z0-9]{1,64}")
"""Alphanumeric (Epic's rule) and at most 64 characters: Epic takes 100, the store's advice
key column 64 (the code is the key an override is remembered by)."""
OUT_OF_VARIANT_REASONS = ("not-adult", "age-unknown", "prior-imaging", "unreadable-condition")
"""Reasons of the rules, beside the exclusion groups, that put a patient outside the variant."""


class AdviceId(NamedTuple):
    kind: str
    about: str


class AdviceTopic(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    about: str
    code: str
    display: str

    @field_validator("code")
    @classmethod
    def _alphanumeric(cls, value: str) -> str:
        if not TOPIC_CODE.fullmatch(value):
            raise ValueError(f"topic code {value!r}: letters and digits only, 1 to 64 of them")
        return value

    @property
    def advice(self) -> AdviceId:
        return AdviceId(self.kind, self.about)


class Topics(BaseModel):
    """The code system of the topics, and one topic per advice (codes unique)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    system: str
    advice: list[AdviceTopic] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Topics:
        for name, values in (
            ("code", [t.code for t in self.advice]),
            ("advice", [f"{t.kind} {t.about}" for t in self.advice]),
        ):
            repeated = sorted({v for v in values if values.count(v) > 1})
            if repeated:
                raise ValueError(f"topics: {name} given more than once: {repeated}")
        return self

    def by_advice(self) -> dict[AdviceId, AdviceTopic]:
        return {t.advice: t for t in self.advice}


class MissingTopic(LookupError):
    """A card gives an advice the knowledge file has no topic for (a new kind of card?)."""


def topic_of(knowledge: KnowledgeFile, advice: AdviceId) -> AdviceTopic:
    found = knowledge.topic_index.get(advice)
    if found is None:
        raise MissingTopic(
            f"no topic for the advice {advice.kind!r} about {advice.about!r}: add it to the "
            "knowledge file's topics (and to topics.REQUIRED)"
        )
    return found


# ----------------------------------------------------------------- which advice needs a topic


def rated_rows(knowledge: KnowledgeFile) -> Iterator[AdviceId]:
    """A rated card per (procedure row, its rating), and the unstated-contrast card of an
    unspecified row whose candidates disagree."""
    for procedure in knowledge.procedures:
        category, _ = knowledge.rating_for(procedure)
        yield AdviceId(category or "unspecified", procedure.id)


def other_regions(knowledge: KnowledgeFile) -> Iterator[AdviceId]:
    for procedure in knowledge.procedures:
        yield AdviceId("other-region", procedure.id)


def out_of_variant(knowledge: KnowledgeFile) -> Iterator[AdviceId]:
    for group in knowledge.exclusions:
        yield AdviceId("out-of-variant", group.id)
    for reason in OUT_OF_VARIANT_REASONS:
        yield AdviceId("out-of-variant", reason)


def escalations(knowledge: KnowledgeFile) -> Iterator[AdviceId]:
    for group in knowledge.exclusions:
        if group.escalate_within_days is not None:
            yield AdviceId("escalation", group.id)


def vascular_studies(knowledge: KnowledgeFile) -> Iterator[AdviceId]:
    """A vascular study (MRA, CTA of the neck) for a recorded vascular finding: not rated."""
    found = knowledge.vascular_findings
    for procedure in found.procedures if found is not None else ():
        yield AdviceId("vascular-finding", procedure)


REQUIRED: list[Callable[[KnowledgeFile], Iterator[AdviceId]]] = [
    rated_rows,
    other_regions,
    out_of_variant,
    escalations,
    vascular_studies,
]
"""Each names advice the cards can give; a new kind of card adds its function here."""


def check_topics(knowledge: KnowledgeFile) -> None:
    """Every advice the cards can give has a topic, and every topic is such an advice."""
    needed = {advice for required in REQUIRED for advice in required(knowledge)}
    given = set(knowledge.topics.by_advice())
    missing = sorted(needed - given)
    if missing:
        shown = ", ".join(f"{a.kind} {a.about}" for a in missing)
        raise ValueError(f"topics: no topic for the advice: {shown}")
    unused = sorted(given - needed)
    if unused:
        shown = ", ".join(f"{a.kind} {a.about}" for a in unused)
        raise ValueError(f"topics: no card gives the advice: {shown}")
