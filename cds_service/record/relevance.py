"""The hot path: one pass over each prefetch value, on the raw JSON.

A realistic record is mostly what no rule reads: Conditions with other codes, and years of body
temperatures and weights of which only the readings inside a rule's look-back window can
matter. :func:`scan` walks a prefetch value (or the FHIR server's answer) once: it checks the
container (an OperationOutcome, a Bundle entry without a resource), counts the Conditions and
Observations, and keeps only the resources a rule can read, for the record layer to validate
with the R4B models and read. A prefetch value still raw (raw_json.py) is walked on its
resources' heads (the members these tests read), and only the resources kept are decoded
whole; a decoded value (the FHIR server's answer, a test's dict) is walked as it is. The tests
are the record layer's, made cheap:

- a Condition is kept when a coding's (system, code) is one the rules read, or a coding display,
  its text or a note affirms a group's finding: the text holds a candidate phrase and ConText
  does not read every mention as negated, hypothetical or a relative's (the rules ask the same
  question of the same texts, so a Condition named only by "No radiculopathy" is no one's
  evidence). Both answers are memoised per knowledge version, by system and code and by text
  (plain dict look-ups), and a raw ``code`` by its JSON text (a record repeats its codes). A
  ``code`` of the wrong shape takes the lenient path (see ``lenient_concept``).
- an Observation coded as a finding of an exclusion group (its code or coded value) is kept
  whatever its date; a vital sign a rule reads (by LOINC code) is kept only when its date
  (``effective[x]``, else ``issued``) falls inside the longest window of the rules that read
  its code, with two days' margin for time zones. One with no date, or a date this test does
  not read (a partial date, a malformed one), is kept: the models and the rules judge it. No
  rule reads a baseline before its window (the weight-loss rule compares readings inside its
  own); a rule of a kind not listed here keeps every reading of its codes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from msgspec import Raw

from cds_service.clinical.codes import NO_SYSTEM, CodeSet
from cds_service.clinical.compiled_knowledge import Knowledge
from cds_service.clinical.knowledge_schema import FeverRule, WeightLossRule
from cds_service.record.observation_reading import read_code, reading_unit, says_temperature
from cds_service.record.raw_json import Entries, RawJson, decode_value
from cds_service.record.readers import (
    MALFORMED_CONTENT,
    as_dict,
    as_list,
    codings,
    container_fault,
    lenient_concept,
    names,
    note_texts,
    observation_time,
)

T = TypeVar("T")

MEMO_LIMIT = 20_000
"""Memo entries in all (codes and texts, each key at most a few hundred characters: a few MB
at worst); past it every memo is emptied (the answers are cheap to recompute)."""
TEXT_KEY_MAX_CHARS = 200
CODE_KEY_MAX_CHARS = 300
"""Longer systems and codes are tested every time: the memo's bytes stay bounded (about
MEMO_LIMIT entries of at most this size per table)."""
"""Longer texts are tested every time, not memoised: the memo's bytes stay bounded."""
RAW_KEY_MAX_BYTES = 500
"""A raw ``code`` longer than this is decoded and tested every time, not memoised (a code of
two codings with displays and a text is some 250 bytes; the memo stays under 10 MB)."""
WINDOW_MARGIN_DAYS = 2
"""A date is compared as written (its calendar day), so time zones and the clinic's calendar
could move it by a day: a reading is dropped only when it is two days outside a window."""
FUTURE_DAYS = 1
"""The rules read readings dated up to a day ahead (clock skew); see criteria.py."""
PRIOR_STUDY_TYPES = frozenset({"Procedure", "DiagnosticReport", "ImagingStudy"})
_NOT_READ = -1
FINDING = -2
EVERY_READING = 0


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


class _Memos:
    """The memo tables of one knowledge version's tests, bounded together (MEMO_LIMIT)."""

    def __init__(self) -> None:
        self._condition_codes: dict[str, dict[str, bool]] = {}
        self._finding_codes: dict[str, dict[str, bool]] = {}
        self._texts: dict[str, bool] = {}
        self._observation_codes: dict[str, dict[str, int]] = {}
        self._raw_codes: dict[bytes, bool] = {}
        self._raw_days: dict[bytes, int] = {}
        self._entries = 0

    def _grew(self) -> None:
        """One more memo entry; past ``MEMO_LIMIT`` in all, every memo starts afresh."""
        self._entries += 1
        if self._entries >= MEMO_LIMIT:
            for memo in (
                self._condition_codes,
                self._finding_codes,
                self._observation_codes,
                self._texts,
                self._raw_codes,
                self._raw_days,
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
    """The memoised first tests for one knowledge version (see :func:`relevance_for`)."""

    def __init__(self, knowledge: Knowledge) -> None:
        super().__init__()
        self.knowledge = knowledge
        self.systems = knowledge.codes.system_uris
        self.conditions: CodeSet = knowledge.codes.condition_codes_of_interest
        self.findings: CodeSet = knowledge.codes.finding_codes
        self.windows = observation_windows(knowledge)
        self.temperature_days = max(
            (
                r.lookback_days
                for g in knowledge.file.exclusions
                for r in g.observations
                if isinstance(r, FeverRule)
            ),
            default=_NOT_READ,
        )
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
            wanted = any(
                self.conditions.contains(s, c) for s, c in codings(concept, self.systems)
            ) or any(self.text(name) for name in names(concept))
        return wanted

    def names_a_finding(self, concept: object) -> bool:
        """An Observation ``valueCodeableConcept`` (any shape) that is an exclusion group's
        finding, read as the rules read it (observation_reading.py)."""
        value = read_code(concept, self.systems)
        return any(self.findings.contains(s, c) for s, c in value.codes)

    def observation_class(self, system: str, code: str) -> int:
        """What a rule makes of an Observation coding: ``FINDING`` (an exclusion group's
        finding: every reading), ``EVERY_READING``, a window in days, or ``_NOT_READ``."""
        if len(code) > CODE_KEY_MAX_CHARS or len(system) > CODE_KEY_MAX_CHARS:
            return self._classify(system, code)  # not memoised
        table = self._observation_codes.get(system)
        if table is None:
            table = self._observation_codes.setdefault(system, {})
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
        days = self.windows.get(code.strip(), _NOT_READ)
        return EVERY_READING if days is None else days

    def lenient_days(self, concept: object) -> int:
        """What the rules make of a code in any shape (observation_reading.py): its codes,
        and its texts when they are read."""
        code = read_code(concept, self.systems)
        if any(self.text(name) for name in code.names):
            return FINDING
        days = _NOT_READ
        for system, value in code.codes:
            found = self._classify(system, value)
            if found in (FINDING, EVERY_READING):
                return found
            days = max(days, found)
        return days


_current: tuple[Knowledge, Relevance] | None = None
_lock = threading.Lock()


def relevance_for(knowledge: Knowledge) -> Relevance:
    """The memoised tests of this knowledge version (a new version starts afresh)."""
    global _current
    current = _current
    if current is not None and current[0] is knowledge:
        return current[1]
    with _lock:
        if _current is None or _current[0] is not knowledge:
            _current = (knowledge, Relevance(knowledge))
        return _current[1]


@dataclass
class Scanned:
    """One prefetch value after the pass: why it cannot be used (then nothing else counts), or
    the resources a rule can read and how many Conditions and Observations it held."""

    fault: str | None = None
    kept: list[dict[str, Any]] = field(default_factory=list)
    conditions: int = 0
    observations: int = 0
    bundle: bool = False
    resources: int = 0
    """Resources the value held (a searchset's OperationOutcome entries not counted)."""
    skipped: int = 0
    """Of those kept, how many the R4 models rejected (set when the record is read)."""

    def extended(self, more: Scanned) -> Scanned:
        """A paged Bundle with its remaining pages."""
        return Scanned(
            None,
            self.kept + more.kept,
            self.conditions + more.conditions,
            self.observations + more.observations,
            bundle=True,
            resources=self.resources + more.resources,
        )


class ObservationFilter:
    """Which Observations one hook call keeps: the findings, and the vital signs dated inside
    the windows (around ``now``; every one when ``now`` is None) of the rules that read them."""

    def __init__(self, relevance: Relevance, now: datetime | None) -> None:
        self.relevance = relevance
        self.now = now
        self._bounds: dict[int, tuple[str, str]] = {}
        self._memo = relevance._observation_codes

    def _window(self, days: int) -> tuple[str, str]:
        bounds = self._bounds.get(days)
        if bounds is None:
            assert self.now is not None
            low = self.now - timedelta(days=days + WINDOW_MARGIN_DAYS)
            high = self.now + timedelta(days=FUTURE_DAYS + WINDOW_MARGIN_DAYS)
            bounds = self._bounds[days] = (low.date().isoformat(), high.date().isoformat())
        return bounds

    def in_window(self, resource: Mapping[str, Any], days: int) -> bool:
        """False only for a reading whose date, as written, is clearly outside the window:
        another year (any date that starts with four digits), else a full calendar date."""
        if self.now is None:
            return True
        when = resource.get("effectiveDateTime") or observation_time(resource)
        if not isinstance(when, str):
            return True  # no date: the models and the rules judge it
        low, high = self._bounds.get(days) or self._window(days)
        year = when[:4]
        if (year < low[:4] or year > high[:4]) and len(year) == 4 and year.isdigit():
            return False
        full_date = (
            len(when) >= 10
            and when[4] == when[7] == "-"
            and year.isdigit()
            and when[5:7].isdigit()
            and when[8:10].isdigit()
        )
        return not full_date or low <= when[:10] <= high

    def keeps(self, resource: Mapping[str, Any]) -> bool:
        """A finding of an exclusion group (code, coded value or text value), or a reading a
        rule reads (itself or a component of a panel) dated inside its window."""
        days = self._part_days(resource)
        if days in (FINDING, EVERY_READING):
            return True
        if "component" in resource:
            for component in as_list(resource["component"]):
                found = self._part_days(as_dict(component))
                if found in (FINDING, EVERY_READING):
                    return True
                days = max(days, found)
        return days > 0 and self.in_window(resource, days)

    def _part_days(self, part: Mapping[str, Any]) -> int:
        """What the rules make of an Observation, or of one component (each is a reading of
        its own): ``FINDING``, ``EVERY_READING``, a window in days, or ``_NOT_READ``."""
        relevance = self.relevance
        days = self._days(part.get("code"))
        if days in (FINDING, EVERY_READING):
            return days
        value = part.get("valueCodeableConcept")
        if value is not None and relevance.names_a_finding(value):
            return FINDING
        text = part.get("valueString")
        if isinstance(text, str) and text and relevance.text(text):
            return FINDING
        if days < relevance.temperature_days and says_temperature(reading_unit(part)):
            return relevance.temperature_days  # a temperature by its unit (``reads``)
        return days

    def _days(self, concept: object) -> int:
        """What the rules make of an Observation code: ``FINDING``, ``EVERY_READING``, the
        widest window in days, or ``_NOT_READ``. A code still raw is memoised by its text; one
        not in its proper shape is read leniently (observation_reading.py)."""
        if isinstance(concept, Raw):
            return self.relevance.by_text(self.relevance._raw_days, concept, self._days)
        if concept is None:
            return _NOT_READ
        if not isinstance(concept, dict):
            return self.relevance.lenient_days(concept)
        coding = concept.get("coding", ())
        if not isinstance(coding, list | tuple) or "code" in concept:
            return self.relevance.lenient_days(concept)
        days, coded, memo = _NOT_READ, False, self._memo
        for item in coding:
            code = item.get("code") if isinstance(item, dict) else None
            if not isinstance(code, str) or not isinstance(item.get("system", ""), str):
                return self.relevance.lenient_days(concept)  # a numeric code, say
            if not code:
                continue
            coded = True
            system = item.get("system") or NO_SYSTEM
            table = memo.get(system)
            found = table.get(code) if table is not None else None
            if found is None:
                found = self.relevance.observation_class(system, code)
            if found <= EVERY_READING and found != _NOT_READ:  # a finding, or all
                return found
            if found > days:
                days = found
        if not coded or not isinstance(concept.get("text", ""), str):
            return self.relevance.lenient_days(concept)  # its texts are read
        return days


class Selector:
    """The pass of one hook call: its knowledge's tests, and its windows around ``now`` (no
    window at all when ``now`` is None)."""

    def __init__(
        self,
        knowledge: Knowledge,
        now: datetime | None,
        names_a_table_row: Callable[[Mapping[str, Any], Knowledge], bool],
    ) -> None:
        self.knowledge = knowledge
        self.relevance = relevance_for(knowledge)
        self.names_a_table_row = names_a_table_row
        self.observation = ObservationFilter(self.relevance, now).keeps

    def scan(self, value: object, expected: str | None = None) -> Scanned:
        """One pass over a prefetch value. With ``expected`` (what its template asks for: a
        ``Bundle`` or a resource type) the container is checked (an OperationOutcome, a Bundle
        with an entry that holds no resource); without, whatever can be read is read."""
        if isinstance(value, RawJson):
            return self._scan_raw(value, expected)
        if not isinstance(value, dict):
            return Scanned(container_fault(value, expected) if expected else None)
        kind = value.get("resourceType")
        if expected is not None:
            if kind == "OperationOutcome":
                return Scanned("an OperationOutcome")
            if kind != expected:
                return Scanned(container_fault(value, expected))
        scanned = Scanned(bundle=kind == "Bundle")
        if kind != "Bundle":
            if isinstance(kind, str):
                scanned.resources = 1
                self._take(value, kind, scanned)
            return scanned
        entries = value.get("entry", [])
        if not isinstance(entries, list):
            return Scanned("a Bundle whose entry is not a list" if expected else None)
        return self._scan_bundle(Entries.of_list(entries), expected)

    def _scan_raw(self, value: RawJson, expected: str | None) -> Scanned:
        """A prefetch value still raw: a Bundle of entry objects is scanned on its resources'
        heads (raw_json.py); anything else is decoded whole and scanned as before."""
        frame = value.frame() if expected in (None, "Bundle") else None
        if frame is None:
            return self.scan(value.value(), expected)
        return self._scan_bundle(Entries.of_frame(frame), expected)

    def _scan_bundle(self, entries: Entries, expected: str | None) -> Scanned:
        scanned, broken, failed = self._scan_entries(entries)
        if expected is not None and failed:  # the EHR failed part of the search
            return Scanned("an OperationOutcome")
        if expected is not None and broken:
            return Scanned("a Bundle with an entry that holds no resource")
        return scanned

    def _scan_entries(self, entries: Entries) -> tuple[Scanned, bool, bool]:
        """The hot loop over a Bundle's entries: what it keeps (each resource whole), and
        whether an entry held no resource (broken) or an error OperationOutcome (failed)."""
        scanned = Scanned(bundle=True)
        broken = failed = False
        kept, whole = scanned.kept, entries.whole
        conditions = observations = outcomes = 0
        condition, observation = self.relevance.condition, self.observation
        for index, resource in enumerate(entries.heads):
            if not isinstance(resource, dict):
                broken = True
                continue
            kind = resource.get("resourceType")
            try:
                if kind == "Observation":
                    observations += 1
                    if observation(resource):
                        kept.append(whole(index, resource))
                    continue
                if kind == "Condition":
                    conditions += 1
                    if condition(resource):
                        kept.append(whole(index, resource))
                    continue
            except MALFORMED_CONTENT:  # the readers decide what to make of it (failing safe)
                kept.append(whole(index, resource))
                continue
            if not isinstance(kind, str):
                broken = True
            elif kind == "OperationOutcome":
                outcomes += 1
                failed = failed or is_failure(whole(index, resource))
            else:
                self._take(whole(index, resource), kind, scanned)
        scanned.conditions += conditions
        scanned.observations += observations
        scanned.resources = len(entries.heads) - outcomes
        return scanned, broken, failed

    def _take(self, resource: dict[str, Any], kind: str, scanned: Scanned) -> None:
        try:
            if kind == "Condition":
                scanned.conditions += 1
                keep = self.relevance.condition(resource)
            elif kind == "Observation":
                scanned.observations += 1
                keep = self.observation(resource)
            elif kind in PRIOR_STUDY_TYPES:
                keep = self.names_a_table_row(resource, self.knowledge)
            else:
                keep = kind == "Patient"
        except MALFORMED_CONTENT:  # the readers decide what to make of it (failing safe)
            keep = True
        if keep:
            scanned.kept.append(resource)


def is_failure(outcome: Mapping[str, Any]) -> bool:
    """An OperationOutcome with an error or fatal issue."""
    return any(
        as_dict(i).get("severity") in ("error", "fatal") for i in as_list(outcome.get("issue"))
    )
