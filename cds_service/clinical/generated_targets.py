"""A group's text targets generated from the ICD-10-CM tabular (package ``simple-icd-10-cm``).

For every code under the entries a group names (R26 gives R26.0 ... R26.9), the tabular's
title and inclusion terms are its words for the finding: "Ataxic gait", "Staggering gait",
"Unsteadiness on feet", "Difficulty in walking, not elsewhere classified". Each is cut to the
words a clinician writes (before the first comma, without parentheses, "NOS", a leading
"Other" or "Unspecified"), kept when it is short enough to be written in a note
(``max_words``), and matched by lemma ("difficulty in walking" also reads "difficulties in
walking"). A target that occurs in one of the ``no_match`` examples beside the list is too
broad and pruned; the pruned ones are listed (review sheet, tests).

With ``snomed_synonyms``, the SNOMED CT displays and synonyms of the group's roots (from a
terminology server) are cut, kept and pruned the same way: see synonym_targets.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import simple_icd_10_cm as icd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from cds_service.clinical import icd10cm
from cds_service.clinical.lemmas import lemma

_PARENTHESES = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_LEADING = re.compile(r"^(?:other|unspecified|and|or)\s+", re.IGNORECASE)
_TRAILING = re.compile(r"\s+(?:nos|unspecified|nec)$", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


class GeneratedTargets(BaseModel):
    """Where a group's generated targets come from, and the examples that prune them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    icd10cm: list[str] = Field(default_factory=list)
    """Codes, categories or ranges of the tabular: each one and every code below it."""
    snomed_synonyms: bool = False
    """Also the displays and synonyms of every concept below the group's ``snomed_roots``,
    when a terminology server expanded them (synonym_targets.py)."""
    max_words: int = Field(default=4, ge=1, le=8)
    no_match: list[str] = Field(min_length=1)
    """Texts no generated target may occur in: a target that does is pruned (too broad)."""

    @model_validator(mode="after")
    def _entries_are_real(self) -> GeneratedTargets:
        if not (self.icd10cm or self.snomed_synonyms):
            raise ValueError("generated needs icd10cm entries or snomed_synonyms")
        for entry in self.icd10cm:
            problem = icd10cm.fault(entry)
            if problem:
                raise ValueError(f"generated.icd10cm {entry!r} {problem}")
        return self


@dataclass(frozen=True)
class Generated:
    """A group's generated targets: kept (as lemma sequences), pruned (with the example that
    pruned each), and how many the hand-listed phrases already held."""

    kept: tuple[tuple[str, tuple[str, ...]], ...]
    """Each target's words and their lemmas."""
    pruned: tuple[tuple[str, str], ...]
    already_listed: int


def words_of(text: str) -> tuple[str, ...]:
    """The words of a text, lower case, as the generated targets are split."""
    return tuple(_WORD.findall(text.lower().replace("-", " ")))


def lemmas_of(text: str) -> tuple[str, ...]:
    return tuple(lemma(w) for w in words_of(text))


def clinical_words(title: str) -> str:
    """A tabular title as a clinician writes it: "Difficulty in walking, not elsewhere
    classified" is "difficulty in walking"."""
    text = _PARENTHESES.sub(" ", title).split(",")[0].split(";")[0]
    text = " ".join(text.split())
    for _ in range(2):
        text = _LEADING.sub("", _TRAILING.sub("", text)).strip()
    return text.lower()


def tabular_terms(entries: Iterable[str]) -> list[str]:
    """Every title and inclusion term of the entries and the codes below them, in order."""
    terms: list[str] = []
    for entry in entries:
        for code in _codes_of(entry):
            terms.append(str(icd.get_description(code)))
            terms.extend(str(t) for t in icd.get_inclusion_term(code))
    return terms


def _codes_of(entry: str) -> list[str]:
    text = entry.strip()
    if icd.is_valid_item(text):
        return [text, *icd.get_descendants(text)]
    low, _, high = (icd10cm.normalise(p) for p in text.partition("-"))
    return [
        c
        for c in icd.get_all_codes(with_dots=True)
        if "-" not in c and low <= icd10cm.normalise(c)[: len(low)]
        if icd10cm.normalise(c)[: len(high)] <= high
    ]


def generate(spec: GeneratedTargets, hand_listed: Iterable[str]) -> Generated:
    """The group's generated targets, less those already hand-listed and those pruned."""
    return select_targets(tabular_terms(spec.icd10cm), spec, hand_listed)


def select_targets(
    terms: Iterable[str],
    spec: GeneratedTargets,
    hand_listed: Iterable[str],
    skip: Iterable[tuple[str, ...]] = (),
) -> Generated:
    """The terms cut to a clinician's words, less those too long, hand-listed (counted), in
    ``skip`` (lemmas already generated) or pruned by the spec's ``no_match`` examples."""
    listed = {lemmas_of(p) for p in hand_listed}
    examples = [(text, lemmas_of(text)) for text in spec.no_match]
    kept: list[tuple[str, tuple[str, ...]]] = []
    pruned: list[tuple[str, str]] = []
    already = 0
    seen: set[tuple[str, ...]] = set(skip)
    for term in terms:
        words = clinical_words(term)
        target = lemmas_of(words)
        if not target or len(target) > spec.max_words or target in seen:
            continue
        seen.add(target)
        if target in listed:
            already += 1
            continue
        spoiled = next((text for text, lem in examples if _holds(lem, target)), None)
        if spoiled is not None:
            pruned.append((words, spoiled))
        else:
            kept.append((words, target))
    return Generated(tuple(kept), tuple(pruned), already)


def _holds(text: tuple[str, ...], target: tuple[str, ...]) -> bool:
    n = len(target)
    return any(text[i : i + n] == target for i in range(len(text) - n + 1))
