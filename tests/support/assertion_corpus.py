"""The assertion corpus (``tests/assertion_corpus.yaml``): loaded, checked, and scored against a
text reader.

A sentence expects, for each exclusion group, a reading: positive ones (``affirmed``,
``history``, ``possible``) say the group must be affirmed (the patient is outside the
variant), negative ones (``negated``, ``hypothetical``, ``past``, ``family``, ``none``) say it
must not. A group a sentence does not list is expected ``none``, unless the sentence ignores it.
"Positive" in the scores is the group affirmed: a true positive is an expected positive the
reader affirms, a false positive a negative reading it affirms (the second rule broken), a
false negative a positive reading it misses (the first rule broken).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CORPUS = Path(__file__).resolve().parent.parent / "assertion_corpus.yaml"
POSITIVE = ("affirmed", "history", "possible")
NEGATIVE = ("negated", "hypothetical", "past", "family", "none")
READINGS = POSITIVE + NEGATIVE

Reader = Callable[[str], Iterable[str]]
"""A text to the ids of the groups it affirms (``TextReader.affirmed``)."""


class CorpusError(ValueError):
    """The corpus file is malformed; the message names the sentence and the fault."""


@dataclass(frozen=True)
class Entry:
    text: str
    expect: Mapping[str, str]
    """Every scored group to its reading (the implicit ``none`` included)."""
    explicit: frozenset[str]
    """The groups the sentence lists."""
    known_failure: str = ""
    note: str = ""


@dataclass(frozen=True)
class Miss:
    text: str
    group: str
    expected: str
    got: bool
    known_failure: str


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


@dataclass
class Scores:
    per_group: dict[str, Score]
    per_reading: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    """(group, reading) to [sentences, read wrongly], explicit expectations only."""
    misses: list[Miss] = field(default_factory=list)


def load_corpus(groups: Sequence[str], path: Path = CORPUS) -> list[Entry]:
    """The corpus's sentences, each checked against the group ids and the reading policy."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    policy = data["policy"]
    history = set(policy["history_counts"])
    current = set(policy["current_only"])
    if history | current != set(groups) or history & current:
        raise CorpusError(f"policy must split the groups {sorted(groups)} in two")
    entries = [_entry(raw, groups, history) for raw in data["sentences"]]
    texts = [e.text for e in entries]
    repeated = {t for t in texts if texts.count(t) > 1}
    if repeated:
        raise CorpusError(f"sentences listed twice: {sorted(repeated)}")
    return entries


def _entry(raw: Mapping[str, Any], groups: Sequence[str], history: set[str]) -> Entry:
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        raise CorpusError(f"an entry without text: {raw!r}")
    expect = dict(raw.get("expect") or {})
    ignore = set(raw.get("ignore") or ())
    stray = (set(expect) | ignore) - set(groups)
    if stray or set(expect) & ignore:
        raise CorpusError(f"{text!r}: unknown or doubly listed groups {sorted(stray)}")
    for group, reading in expect.items():
        if reading not in READINGS:
            raise CorpusError(f"{text!r}: {group}: unknown reading {reading!r}")
        if reading == "history" and group not in history:
            raise CorpusError(f"{text!r}: a history of {group} does not count (use past)")
        if reading == "past" and group in history:
            raise CorpusError(f"{text!r}: a past {group} counts (use history)")
    scored = {g: expect.get(g, "none") for g in groups if g not in ignore}
    return Entry(
        text=text,
        expect=scored,
        explicit=frozenset(expect),
        known_failure=str(raw.get("known_failure") or ""),
        note=str(raw.get("note") or ""),
    )


def known(miss: Miss) -> bool:
    """The sentence's ``known_failure`` names the miss's group: a miss in another group of the
    same sentence is new (a regression hidden by the mark otherwise)."""
    return re.search(rf"(?<![\w-]){re.escape(miss.group)}(?![\w-])", miss.known_failure) is not None


def misreadings(entry: Entry, affirmed: Iterable[str]) -> list[Miss]:
    """The groups the reader gets wrong on this sentence."""
    found = set(affirmed)
    return [
        Miss(entry.text, group, reading, group in found, entry.known_failure)
        for group, reading in entry.expect.items()
        if (reading in POSITIVE) != (group in found)
    ]


def score(entries: Sequence[Entry], read: Reader, groups: Sequence[str]) -> Scores:
    """Per group: true and false positives and negatives; per reading: sentences and misses."""
    scores = Scores(per_group={g: Score() for g in groups})
    for entry in entries:
        found = set(read(entry.text))
        for group, reading in entry.expect.items():
            _count(scores.per_group[group], reading in POSITIVE, group in found)
            if group in entry.explicit:
                tally = scores.per_reading.setdefault((group, reading), [0, 0])
                tally[0] += 1
                tally[1] += (reading in POSITIVE) != (group in found)
        scores.misses.extend(misreadings(entry, found))
    return scores


def _count(score: Score, expected: bool, got: bool) -> None:
    if expected and got:
        score.tp += 1
    elif expected:
        score.fn += 1
    elif got:
        score.fp += 1
    else:
        score.tn += 1
