"""The assertion corpus (``tests/assertion_corpus.yaml``), one test per sentence: no negated,
hypothetical, past, family or unrelated mention affirms a group (the second rule), and no
affirmed, historical-that-counts or possible mention is missed (the first rule).

Expectations are written from the seed and the clinical reference, never from the reader's
output. A sentence the reader still gets wrong carries ``known_failure`` and is expected to fail
(strictly: when the reader is fixed, the test says so and the mark must go). Scores per group:
``python benchmarks/assertion_scores.py``.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from support.assertion_corpus import (
    NEGATIVE,
    POSITIVE,
    CorpusError,
    Entry,
    Miss,
    known,
    load_corpus,
    misreadings,
    score,
)

from cds_service.clinical.knowledge_loader import load_knowledge

KNOWLEDGE = load_knowledge()
GROUPS = [g.id for g in KNOWLEDGE.file.exclusions if g.text is not None]
ENTRIES = load_corpus(GROUPS)


class KnownMisreading(Exception):
    """The reader misreads a sentence in the groups its ``known_failure`` names (xfails)."""


def _param(index: int, entry: Entry) -> object:
    slug = re.sub(r"\W+", "-", entry.text.lower()).strip("-")[:48]
    marks = (
        [pytest.mark.xfail(reason=entry.known_failure, strict=True, raises=KnownMisreading)]
        if entry.known_failure
        else []
    )
    return pytest.param(entry, id=f"{index:03d}-{slug}", marks=marks)


def _said(misses: list[Miss]) -> str:
    return "; ".join(
        f"{m.group}: expected {m.expected}, read {'affirmed' if m.got else 'not affirmed'}"
        for m in misses
    )


@pytest.mark.parametrize("entry", [_param(i, e) for i, e in enumerate(ENTRIES)])
def test_the_reader_reads_the_sentence_as_a_clinician(entry: Entry) -> None:
    """A marked sentence xfails only on the groups its mark names: a miss in another group
    fails outright."""
    wrong = misreadings(entry, KNOWLEDGE.text.text_reader.affirmed(entry.text))
    new = [m for m in wrong if not known(m)]
    assert not new, _said(new)
    if wrong:
        raise KnownMisreading(_said(wrong))


def test_the_corpus_is_large_and_balanced() -> None:
    """At least 500 sentences; per group at least 40 explicit expectations, both ways, in
    every reading the group can take (history or past, by the corpus's policy)."""
    assert len(ENTRIES) >= 500
    readings: dict[str, Counter[str]] = {g: Counter() for g in GROUPS}
    for entry in ENTRIES:
        for group in entry.explicit:
            readings[group][entry.expect[group]] += 1
    for group, counts in readings.items():
        assert sum(counts.values()) >= 40, group
        assert sum(counts[r] for r in POSITIVE) >= 15, group
        assert sum(counts[r] for r in NEGATIVE) >= 15, group
        for reading in ("affirmed", "negated", "hypothetical", "family", "none"):
            assert counts[reading] >= 3, (group, reading)
        assert counts["history"] + counts["past"] >= 2, group


def test_the_corpus_crosses_clause_boundaries() -> None:
    """Sentences that deny one group and affirm another (the negation ends with its clause)."""
    crossing = [
        e
        for e in ENTRIES
        if {e.expect[g] for g in e.explicit} & set(POSITIVE)
        and {e.expect[g] for g in e.explicit} & {"negated", "family", "hypothetical"}
    ]
    assert len(crossing) >= 30


def test_known_failures_say_why() -> None:
    for entry in ENTRIES:
        if entry.known_failure:
            assert len(entry.known_failure.strip()) > 10, entry.text


class _Stub:
    def __init__(self, answers: dict[str, set[str]]) -> None:
        self.answers = answers

    def __call__(self, text: str) -> set[str]:
        return self.answers.get(text, set())


def test_the_scores_count_each_way(tmp_path: Path) -> None:
    """True and false positives and negatives per group, on a corpus of three sentences."""
    corpus = tmp_path / "corpus.yaml"
    corpus.write_text(
        "policy: {history_counts: {a: x}, current_only: {b: y}}\n"
        "sentences:\n"
        "  - {text: 'one', expect: {a: affirmed, b: negated}}\n"
        "  - {text: 'two', expect: {a: history}}\n"
        "  - {text: 'three', expect: {b: past}, ignore: [a]}\n",
        encoding="utf-8",
    )
    entries = load_corpus(["a", "b"], corpus)
    scores = score(entries, _Stub({"one": {"a", "b"}, "three": {"a"}}), ["a", "b"])
    a, b = scores.per_group["a"], scores.per_group["b"]
    assert (a.tp, a.fp, a.fn, a.tn) == (1, 0, 1, 0)
    assert (b.tp, b.fp, b.fn, b.tn) == (0, 1, 0, 2)
    assert (a.precision, a.recall, b.precision, b.recall) == (1.0, 0.5, 0.0, None)
    assert [(m.text, m.group) for m in scores.misses] == [("one", "b"), ("two", "a")]
    assert scores.per_reading[("b", "past")] == [1, 0]


@pytest.mark.parametrize(
    ("sentence", "fault"),
    [
        ("{text: 'x', expect: {b: history}}", "does not count"),
        ("{text: 'x', expect: {a: past}}", "counts"),
        ("{text: 'x', expect: {a: maybe}}", "unknown reading"),
        ("{text: 'x', expect: {c: affirmed}}", "unknown or doubly"),
        ("{text: 'x', expect: {a: affirmed}, ignore: [a]}", "unknown or doubly"),
    ],
)
def test_a_malformed_corpus_is_refused(tmp_path: Path, sentence: str, fault: str) -> None:
    corpus = tmp_path / "corpus.yaml"
    corpus.write_text(
        f"policy: {{history_counts: {{a: x}}, current_only: {{b: y}}}}\nsentences:\n"
        f"  - {sentence}\n",
        encoding="utf-8",
    )
    with pytest.raises(CorpusError, match=fault):
        load_corpus(["a", "b"], corpus)


def test_a_mark_covers_only_the_groups_it_names() -> None:
    def miss(group: str, mark: str) -> Miss:
        return Miss("t", group, "affirmed", False, mark)

    assert known(miss("trauma", "trauma missed (expected affirmed)"))
    assert known(miss("weight-loss", "night-sweats affirmed; weight-loss missed"))
    assert not known(miss("radiculopathy", "neurologic-deficit missed (expected affirmed)"))
    assert not known(miss("trauma", ""))
