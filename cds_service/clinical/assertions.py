"""Clinical text read with ConText (medspaCy): which exclusion groups a text affirms.

A text names a group's finding when one of the group's target phrases occurs in it and the
ConText algorithm does not mark that mention negated ("without radiculopathy", "denies fever"),
hypothetical ("if fever develops"), about a family member ("family history of cancer"), or
historical where the group does not count history. A possible or suspected mention counts
(failing safe). Scoped modifiers of a group (``cancelled_by``: "lumbar" before "radiculopathy")
cancel a mention only within ConText's scope, never the whole text, unless a ``kept_by``
modifier (``cervical``) modifies the same mention. A group's ``patterns`` (regular expressions:
"lost 10 lbs", "T 38.6") name mentions a phrase list cannot; ``asserted_by`` words date a
mention as an event ("MVC last week": it counts even inside a list a negation runs over), and
``escalated_by`` words make it new or progressive (the answer then also holds
:func:`escalating` of the group).

medspaCy runs on a blank spaCy pipeline (no model download): sentence splitting, the target
matcher and ConText. Only texts that hold a candidate phrase reach it; its answers are cached by
text, bounded in bytes. The libraries' own logging is silenced: it would write the texts, which
are patient data.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cds_service.clinical.context_pipeline import (
    ASSERT,
    CANCEL,
    CONTEXT_CATEGORIES,
    ESCALATE,
    KEEP,
    MODIFIER_SCOPE,
    OTHER_SENSE,
    ContextRule,
    GroupPhrases,
    build_pipeline,
    escalating,
    mention_counts,
    silence_libraries,
    target_labels,
    unhyphenated,
)
from cds_service.clinical.display_idioms import without_idioms
from cds_service.clinical.finding_families import words_regex

__all__ = [
    "ASSERT",
    "CANCEL",
    "CONTEXT_CATEGORIES",
    "ESCALATE",
    "KEEP",
    "MAX_TEXT_CHARS",
    "MODIFIER_SCOPE",
    "OTHER_SENSE",
    "ContextRule",
    "GroupPhrases",
    "TextReader",
    "escalating",
    "silence_libraries",
]

MAX_TEXT_CHARS = 20_000
"""Longer texts are not parsed: a candidate phrase in one counts as found (failing safe)."""


@dataclass
class _ByteBoundedCache:
    """Text to answer, least recently used first out, bounded by the bytes of the texts."""

    limit: int
    entries: OrderedDict[str, frozenset[str]] = field(default_factory=OrderedDict)
    size: int = 0

    def get(self, text: str) -> frozenset[str] | None:
        found = self.entries.get(text)
        if found is not None:
            self.entries.move_to_end(text)
        return found

    def put(self, text: str, answer: frozenset[str]) -> None:
        cost = len(text.encode("utf-8", "surrogatepass")) + 64
        if cost > self.limit or text in self.entries:
            return
        self.entries[text] = answer
        self.size += cost
        while self.size > self.limit:
            old, _ = self.entries.popitem(last=False)
            self.size -= len(old.encode("utf-8", "surrogatepass")) + 64


def _phrase_regex(phrases: Iterable[str], patterns: Iterable[str] = ()) -> re.Pattern[str] | None:
    """Words of a phrase separated by any run of spaces or hyphens, on word boundaries; and
    the groups' own patterns."""
    parts = sorted(
        {r"[\s\-]+".join(re.escape(w) for w in p.split()) for p in phrases if p.split()},
        key=len,
        reverse=True,
    )
    words = [rf"(?<!\w)(?:{'|'.join(parts)})(?!\w)"] if parts else []
    alternatives = [*words, *(f"(?:{p})" for p in patterns)]
    if not alternatives:
        return None
    return re.compile("|".join(alternatives), re.IGNORECASE)


def _generated_regex(words: Iterable[str]) -> re.Pattern[str] | None:
    """Any written form of any generated target (they are matched by lemma)."""
    targets = sorted(set(words))
    return words_regex(targets) if targets else None


def _group_test(group: GroupPhrases) -> Callable[[str], bool]:
    """Does a text hold one of the group's phrases, patterns, generated targets or families?
    (Texts too long to parse: a candidate counts as found, failing safe.)"""
    phrases = _phrase_regex(group.phrases, group.patterns)
    generated = _generated_regex(w for w, _ in group.generated)
    families = [f for f in group.families if not f.hides]
    return lambda text: bool(
        (phrases and phrases.search(text))
        or (generated and generated.search(text))
        or any(f.prefilter(text) for f in families)
    )


class TextReader:
    """Answers "which groups does this text affirm?" for one knowledge file's phrases."""

    def __init__(
        self,
        groups: Sequence[GroupPhrases],
        extra_rules: Sequence[ContextRule] = (),
        cache_bytes: int = 4 * 1024 * 1024,
        idioms: re.Pattern[str] | None = None,
    ) -> None:
        self.groups = {g.group_id: g for g in groups if g.phrases or g.patterns}
        self._labels = target_labels(self.groups.values())
        self._by_label = {g.upper(): g for g in self.groups}
        self._idioms = idioms
        self.candidates = _phrase_regex(
            (p for g in self.groups.values() for p in g.phrases),
            (p for g in self.groups.values() for p in g.patterns),
        )
        self._generated = _generated_regex(w for g in self.groups.values() for w, _ in g.generated)
        self._families = [f for g in self.groups.values() for f in g.families if not f.hides]
        self._per_group = {gid: _group_test(g) for gid, g in self.groups.items()}
        self._patterns = [
            (re.compile(p, re.IGNORECASE), g.group_id.upper())
            for g in self.groups.values()
            for p in g.patterns
        ]
        self._extra_rules = tuple(extra_rules)
        self._nlp: Any = None
        self._lock = threading.Lock()
        self._cache = _ByteBoundedCache(cache_bytes)

    @property
    def cache_limit(self) -> int:
        """The bytes of text whose readings are remembered."""
        return self._cache.limit

    def limit_cache(self, cache_bytes: int) -> None:
        """Bound the remembered readings to ``cache_bytes`` of text (CDS_TEXT_CACHE_BYTES)."""
        with self._lock:
            self._cache.limit = cache_bytes
            while self._cache.size > cache_bytes and self._cache.entries:
                old, _ = self._cache.entries.popitem(last=False)
                self._cache.size -= len(old.encode("utf-8", "surrogatepass")) + 64

    def has_candidate(self, text: str) -> bool:
        """The cheap first test: does the text, less its display idioms, hold any group's
        phrase, generated target, or a family's head and near word at all?"""
        return self._candidate(without_idioms(self._idioms, text))

    def _candidate(self, text: str) -> bool:
        return (
            (self.candidates is not None and self.candidates.search(text) is not None)
            or (self._generated is not None and self._generated.search(text) is not None)
            or any(family.prefilter(text) for family in self._families)
        )

    def affirmed(self, text: str) -> frozenset[str]:
        """The ids of the groups whose finding the text affirms (empty: none). Display
        idioms ("(HCC)", "(finding)") are removed first."""
        text = without_idioms(self._idioms, text)
        if not self._candidate(text):
            return frozenset()
        with self._lock:
            known = self._cache.get(text)
            if known is not None:
                return known
            answer = self._read(text)
            self._cache.put(text, answer)
            return answer

    def warm(self) -> None:
        """Build the pipeline now (start-up), not on the first call."""
        with self._lock:
            self._pipeline()

    # ------------------------------------------------------------------ the NLP

    def _read(self, text: str) -> frozenset[str]:
        if len(text) > MAX_TEXT_CHARS:
            return frozenset(gid for gid, found in self._per_group.items() if found(text))
        doc = self._parse(text)
        found = set()
        for ent in doc.ents:
            for label in ent.label_.split("|"):
                group = self.groups.get(self._by_label.get(label, ""))
                if group is not None and mention_counts(ent, group):
                    found.add(group.group_id)
                    if group.escalated_by and ESCALATE in {m.category for m in ent._.modifiers}:
                        found.add(escalating(group.group_id))
        return frozenset(found)

    def _parse(self, text: str) -> Any:
        """The pipeline, with the groups' pattern mentions added after the target matcher."""
        nlp = self._pipeline()
        doc = nlp.make_doc(unhyphenated(text))
        for name, step in nlp.pipeline:
            doc = step(doc)
            if name == "medspacy_target_matcher" and self._patterns:
                self._add_pattern_mentions(doc)
        return doc

    def _add_pattern_mentions(self, doc: Any) -> None:
        from spacy.util import filter_spans

        spans = list(doc.ents)
        for pattern, label in self._patterns:
            for match in pattern.finditer(doc.text):
                span = doc.char_span(
                    match.start(), match.end(), label=label, alignment_mode="expand"
                )
                if span is not None:
                    spans.append(span)
        doc.ents = filter_spans(spans)

    def _pipeline(self) -> Any:
        if self._nlp is None:
            self._nlp = build_pipeline(self.groups, self._labels, self._extra_rules)
        return self._nlp
