"""The relevance tests of one knowledge version, made cheap and memoised: does a rule read
this Condition, and what does a rule make of this Observation code?

The selection (selection.py) asks them of every Condition and Observation of a record; what
they answer no must be what no rule reads (tests/test_pass_agrees_with_rules.py):

- a Condition is kept when a coding's (system, code) is one the rules read, or a coding display,
  its text or a note affirms a group's finding: the text holds a candidate phrase and ConText
  does not read every mention as negated, hypothetical or a relative's (the rules ask the same
  question of the same texts, so a Condition named only by "No radiculopathy" is no one's
  evidence). Both answers are memoised per knowledge version, by system and code and by text
  (plain dict look-ups), and a raw ``code`` by its JSON text (a record repeats its codes). A
  ``code`` of the wrong shape takes the lenient path (see ``lenient_concept``).
- an Observation code is classed as a finding of an exclusion group, a reading a rule reads
  whatever its date, or a reading inside a window of so many days (observation_filter.py
  applies the windows around the call's ``now``).

The memos belong to their knowledge: the pipeline asks ``knowledge.derived(Relevance)``, built
once per knowledge version and kept on it, so a terminology refresh (a new version) starts
afresh and no answer of an old version is ever reused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from msgspec import Raw

from cds_service.clinical.codes import NO_SYSTEM, CodeSet
from cds_service.clinical.compiled_knowledge import Knowledge
from cds_service.clinical.knowledge_schema import FeverRule, WeightLossRule
from cds_service.record.observation_reading import read_code
from cds_service.record.raw_json import decode_value
from cds_service.record.readers import (
    codings,
    lenient_concept,
    names,
    note_texts,
    unreadable_concept,
)

T = TypeVar("T")

MEMO_LIMIT = 20_000
"""Memo entries in all (codes and texts, each key at most a few hundred characters: a few MB
at worst); past it every memo is emptied (the answers are cheap to recompute)."""
TEXT_KEY_MAX_CHARS = 200
"""Longer texts are tested every time, not memoised: the memo's bytes stay bounded."""
CODE_KEY_MAX_CHARS = 300
"""Longer systems and codes are tested every time: the memo's bytes stay bounded (about
MEMO_LIMIT entries of at most this size per table)."""
RAW_KEY_MAX_BYTES = 500
"""A raw ``code`` longer than this is decoded and tested every time, not memoised (a code of
two codings with displays and a text is some 250 bytes; the memo stays under 10 MB)."""
NOT_READ = -1
"""What a rule makes of an Observation code: no rule reads it ..."""
FINDING = -2
"""... an exclusion group's finding (every reading kept) ..."""
EVERY_READING = 0
"""... a reading a rule reads whatever its date; a positive number is a window in days."""


def observation_windows(knowledge: Knowledge) -> dict[str, int | None]:
    """Each LOINC code a rule reads, and the longest window (days back) of the rules that read
    it; None when a rule reads every reading of the code."""
    windows: dict[str, int | None] = {}
    for group in knowledge.file.exclusions:
        for rule in group.observations:
            days: int | None
            if isinstance(rule, FeverRule):
                days = rule.lookback_days
            elif isinstance(rule, WeightLossRule):
                days = rule.window_days
            else:  # pragma: no cover - a rule kind this test does not know reads everything
                days = None
            for code in rule.reading_codes:
                if code in windows and (windows[code] is None or days is None):
                    windows[code] = None
                else:
                    windows[code] = max(days, windows.get(code) or 0) if days else None
    return windows


def fever_lookback_days(knowledge: Knowledge) -> int:
    """The longest look-back of the fever rules (``NOT_READ`` when there is none)."""
    return max(
        (
            r.lookback_days
            for g in knowledge.file.exclusions
            for r in g.observations
            if isinstance(r, FeverRule)
        ),
        default=NOT_READ,
    )


class _Memos:
    """The memo tables of one knowledge version's tests, bounded together (MEMO_LIMIT)."""

    def __init__(self) -> None:
        self._condition_codes: dict[str, dict[str, bool]] = {}
        self._finding_codes: dict[str, dict[str, bool]] = {}
        self._texts: dict[str, bool] = {}
        self.observation_codes: dict[str, dict[str, int]] = {}
        self._raw_codes: dict[bytes, bool] = {}
        self.raw_days: dict[bytes, int] = {}
        self._entries = 0

    def _grew(self) -> None:
        """One more memo entry; past ``MEMO_LIMIT`` in all, every memo starts afresh."""
        self._entries += 1
        if self._entries >= MEMO_LIMIT:
            for memo in (
                self._condition_codes,
                self._finding_codes,
                self.observation_codes,
                self._texts,
                self._raw_codes,
                self.raw_days,
            ):
                memo.clear()
            self._entries = 0

    def by_text(self, memo: dict[bytes, T], raw: Raw, answer: Callable[[object], T]) -> T:
        """``answer`` of a member still raw (raw_json.py), memoised by its JSON text: a record
        repeats its codes, and a repeated one is neither decoded nor tested again. A text over
        ``RAW_KEY_MAX_BYTES`` is answered every time."""
        if len(raw) > RAW_KEY_MAX_BYTES:
            return answer(decode_value(raw))
        key = bytes(raw)
        known = memo.get(key)
        if known is None:
            known = memo[key] = answer(decode_value(raw))
            self._grew()
        return known


class Relevance(_Memos):
    """The memoised first tests of one knowledge version (``knowledge.derived(Relevance)``)."""

    def __init__(self, knowledge: Knowledge) -> None:
        super().__init__()
        self.knowledge = knowledge
        self.systems = knowledge.codes.system_uris
        self.conditions: CodeSet = knowledge.codes.condition_codes_of_interest
        self.findings: CodeSet = knowledge.codes.finding_codes
        self.windows = observation_windows(knowledge)
        self.temperature_days = fever_lookback_days(knowledge)
        """A reading whose unit is a temperature's is a body temperature (see ``reads``)."""

    def _code(
        self, memo: dict[str, dict[str, bool]], codes: CodeSet, system: str, code: str
    ) -> bool:
        if len(code) > CODE_KEY_MAX_CHARS or len(system) > CODE_KEY_MAX_CHARS:
            return codes.contains(self.systems.get(system, system), code)  # not memoised
        table = memo.get(system)
        if table is None:
            table = memo.setdefault(system, {})
        known = table.get(code)
        if known is None:
            known = codes.contains(self.systems.get(system, system), code)
            table[code] = known
            self._grew()
        return known

    def text(self, text: str) -> bool:
        """Does the text affirm any group's finding? Only a text holding a candidate phrase
        reaches ConText (whose answers the rules then find in its cache); "No radiculopathy"
        affirms nothing, and a Condition named only by such texts is no rule's evidence."""
        known = self._texts.get(text)
        if known is None:
            reader = self.knowledge.text.text_reader
            known = (
                reader.has_candidate(text) and bool(reader.affirmed(text))
            ) or self.knowledge.vascular.names_vascular_finding(text)  # read by the vascular rule
            if len(text) <= TEXT_KEY_MAX_CHARS:
                self._texts[text] = known
                self._grew()
        return known

    def concept_wanted(self, concept: object) -> bool | None:
        """Does a rule read a Condition with this code? None when the CodeableConcept is not
        in its proper shape (the caller reads it leniently)."""
        if concept is None:
            return False
        if not isinstance(concept, dict) or "code" in concept:
            return None
        coding, text = concept.get("coding", ()), concept.get("text")
        if not isinstance(coding, list | tuple) or not (text is None or isinstance(text, str)):
            return None
        memo, texts = self._condition_codes, self._texts
        for item in coding:
            if not isinstance(item, dict):
                return None
            code, system = item.get("code", ""), item.get("system")
            if not isinstance(code, str):
                return None
            if code:
                system = system if isinstance(system, str) and system else NO_SYSTEM
                table = memo.get(system)
                wanted = table.get(code) if table is not None else None
                if wanted is None:
                    wanted = self._code(memo, self.conditions, system, code)
                if wanted:
                    return True
            display = item.get("display")
            if isinstance(display, str) and display:
                named = texts.get(display)
                if named is None:
                    named = self.text(display)
                if named:
                    return True
        if text:
            named = texts.get(text)
            return self.text(text) if named is None else named
        return False

    def condition(self, resource: Mapping[str, Any]) -> bool:
        code = resource.get("code")
        if isinstance(code, Raw):
            wanted = self.by_text(self._raw_codes, code, self.code_wanted)
        else:
            wanted = self.code_wanted(code)
        if wanted:
            return True
        return "note" in resource and any(self.text(t) for t in note_texts(resource))

    def code_wanted(self, code: object) -> bool:
        """Does a rule read a Condition with this ``code``, in any shape?"""
        wanted = self.concept_wanted(code)
        if wanted is None:  # any shape, failing safe (see lenient_concept)
            concept, _ = lenient_concept(code)
            wanted = (
                any(self.conditions.contains(s, c) for s, c in codings(concept, self.systems))
                or any(self.text(name) for name in names(concept))
                or unreadable_concept(code)  # it may be any finding: the rules read it so
            )
        return wanted

    def names_a_finding(self, concept: object) -> bool:
        """An Observation ``valueCodeableConcept`` (any shape) that is an exclusion group's
        finding, read as the rules read it (observation_reading.py)."""
        value = read_code(concept, self.systems)
        return any(self.findings.contains(s, c) for s, c in value.codes)

    def observation_class(self, system: str, code: str) -> int:
        """What a rule makes of an Observation coding: ``FINDING`` (an exclusion group's
        finding: every reading), ``EVERY_READING``, a window in days, or ``NOT_READ``."""
        if len(code) > CODE_KEY_MAX_CHARS or len(system) > CODE_KEY_MAX_CHARS:
            return self._classify(system, code)  # not memoised
        table = self.observation_codes.get(system)
        if table is None:
            table = self.observation_codes.setdefault(system, {})
        known = table.get(code)
        if known is None:
            known = self._classify(system, code)
            table[code] = known
            self._grew()
        return known

    def _classify(self, system: str, code: str) -> int:
        """A finding code (in its system, or in every system when it has none or an unknown
        one); else a rule's reading code, in any system (as :func:`reads` reads it)."""
        if self.findings.contains(self.systems.get(system, system), code):
            return FINDING
        days = self.windows.get(code.strip(), NOT_READ)
        return EVERY_READING if days is None else days

    def lenient_days(self, concept: object) -> int:
        """What the rules make of a code in any shape (observation_reading.py): its codes,
        and its texts when they are read."""
        code = read_code(concept, self.systems)
        if any(self.text(name) for name in code.names):
            return FINDING
        days = NOT_READ
        for system, value in code.codes:
            found = self._classify(system, value)
            if found in (FINDING, EVERY_READING):
                return found
            days = max(days, found)
        return days
