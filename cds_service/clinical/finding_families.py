"""Finding families: a word of the finding near a word that makes it one, in either order.

"Gait unsteady", "unsteady gait", "gait is unsteady", "broad-based gait" are one finding; so
are "loss of bowel control", "bladder urgency", "numbness in the right hand" and "hit by a
car". A family names its ``heads`` (gait, bowel, numbness...) and the words ``near`` them
(unsteady, loss, hand...), matched by lemma, with at most ``distance`` words between that are
not a clause boundary or a denial ("gait normal; unsteady on stairs", "gait, no unsteadiness"
are not one mention). A family that ``hides`` names a normal result ("negative Spurling test",
"Babinski downgoing"): its mention covers the finding's, which then is not read.

The text reader's cheap first test holds a text with a written form of a head *and* of a near
word (:meth:`Family.prefilter`): "neck pain" alone never reaches the NLP.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cds_service.clinical.lemmas import lemma, surface_forms

GAP_STOPS = [
    ".",
    ";",
    "but",
    "however",
    "though",
    "although",
    "except",
    "no",
    "not",
    "without",
    "w/o",
    "denies",
    "deny",
    "denied",
    "negative",
    "neg",
    "normal",
    "nl",
    "if",
]
"""Words a family's mention never spans: they end a clause or deny what follows."""

CLAUSE_VERBS = frozenset({"has", "have", "had", "reports", "notes", "endorses", "is", "was"})
"""After a comma, these start a new clause ("Denies arm numbness, has weakness in the hand"):
a family's mention never spans them there ("Gait has become unsteady" is one mention)."""

CLAUSE_START = "cds_clause_start"


def _starts_clause(token: Any) -> bool:
    return token.i > 0 and token.doc[token.i - 1].text == "," and token.lower_ in CLAUSE_VERBS


def register_clause_start() -> None:
    """The token attribute a family's gap tests (spaCy's Matcher reads custom attributes)."""
    from spacy.tokens import Token

    if not Token.has_extension(CLAUSE_START):
        Token.set_extension(CLAUSE_START, getter=_starts_clause)


class FindingFamily(BaseModel):
    """One family of a group's text (see the module)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    heads: list[str] = Field(min_length=1)
    near: list[str] = Field(min_length=1)
    distance: int = Field(default=3, ge=0, le=6)
    hides: bool = False
    also: list[str] = Field(default_factory=list)
    """Other groups whose finding the mention names too ("numbness in the hand": a deficit
    and a radicular symptom, like the hand-listed "arm numbness")."""
    why: str
    match: list[str] = Field(min_length=1)
    no_match: list[str] = Field(min_length=1)


@dataclass(frozen=True)
class Family:
    """A family compiled: its matcher patterns and its first test."""

    name: str
    patterns: tuple[tuple[dict[str, Any], ...], ...]
    heads: re.Pattern[str]
    near: re.Pattern[str]
    hides: bool
    also: tuple[str, ...] = ()

    def prefilter(self, text: str) -> bool:
        return self.heads.search(text) is not None and self.near.search(text) is not None


def compile_family(family: FindingFamily) -> Family:
    heads, near = _terms(family.heads), _terms(family.near)
    register_clause_start()
    gap = {"LOWER": {"NOT_IN": GAP_STOPS}, "_": {CLAUSE_START: False}, "OP": "?"}
    gaps = [gap] * family.distance
    patterns = [
        (*first, *gaps, *second)
        for a, b in ((heads, near), (near, heads))
        for first in a
        for second in b
    ]
    return Family(
        family.name,
        tuple(tuple(p) for p in patterns),
        words_regex([*family.heads]),
        words_regex([*family.near]),
        family.hides,
        tuple(family.also),
    )


def _terms(terms: Iterable[str]) -> list[list[dict[str, Any]]]:
    """Token patterns of the terms: one for every one-word term (by lemma), one for each
    longer term ("broad based", "down the arm")."""
    single = sorted({lemma(t) for t in terms if len(t.replace("-", " ").split()) == 1})
    longer = [t.replace("-", " ").split() for t in terms if len(t.replace("-", " ").split()) > 1]
    patterns: list[list[dict[str, Any]]] = [[{"LEMMA": {"IN": single}}]] if single else []
    patterns += [[{"LEMMA": lemma(w)} for w in words] for words in longer]
    return patterns


def words_regex(terms: Iterable[str]) -> re.Pattern[str]:
    """Any written form of any of the terms, word by word (a hyphen or spaces between)."""
    term_words = [t.replace("-", " ").split() for t in terms]
    forms = surface_forms(lemma(w) for words in term_words for w in words)
    parts = []
    for words in term_words:
        alternatives = [
            "(?:" + "|".join(re.escape(f) for f in sorted(forms[lemma(w)] | {w.lower()})) + ")"
            for w in words
        ]
        parts.append(r"[\s\-]+".join(alternatives))
    return re.compile(rf"(?<!\w)(?:{'|'.join(parts)})(?!\w)", re.IGNORECASE)
