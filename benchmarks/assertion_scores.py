"""Precision and recall of the text reader per exclusion group, on the assertion corpus.

Reads every sentence of ``tests/assertion_corpus.yaml`` with the knowledge file's text reader
(``load_knowledge().text.text_reader.affirmed``) and prints, per group, true and false positives and
negatives, precision and recall ("positive": the group affirmed, the patient outside the
variant); then, per group and expected reading, how many sentences and how many read wrongly;
then every sentence read wrongly (sentence, group, expected reading, what the reader said).

    python benchmarks/assertion_scores.py [--corpus PATH] [--group ID] [--no-failures]

To score another branch's reader: ``PYTHONPATH=/path/to/that/worktree python
benchmarks/assertion_scores.py``. Exit status 1 when a sentence not marked ``known_failure`` is
read wrongly, or a marked one is read right (the mark is stale).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.assertion_corpus import (
    CORPUS,
    READINGS,
    Entry,
    Miss,
    Scores,
    known,
    load_corpus,
    score,
)


def _ratio(value: float | None) -> str:
    return "   n/a" if value is None else f"{value:6.3f}"


def print_groups(scores: Scores) -> None:
    print(f"{'group':<20} {'TP':>4} {'FP':>4} {'FN':>4} {'TN':>5} {'precision':>9} {'recall':>7}")
    total = [0, 0, 0, 0]
    for group, s in scores.per_group.items():
        total = [a + b for a, b in zip(total, (s.tp, s.fp, s.fn, s.tn), strict=True)]
        print(
            f"{group:<20} {s.tp:>4} {s.fp:>4} {s.fn:>4} {s.tn:>5} "
            f"{_ratio(s.precision):>9} {_ratio(s.recall):>7}"
        )
    tp, fp, fn, tn = total
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    print(
        f"{'all groups':<20} {tp:>4} {fp:>4} {fn:>4} {tn:>5} {_ratio(precision):>9} "
        f"{_ratio(recall):>7}"
    )


def print_readings(scores: Scores, groups: list[str]) -> None:
    print("\nexplicit expectations per reading (sentences / read wrongly)")
    print(f"{'group':<20}" + "".join(f"{r:>14}" for r in READINGS))
    for group in groups:
        cells = []
        for reading in READINGS:
            n, wrong = scores.per_reading.get((group, reading), [0, 0])
            cells.append(f"{n:>4} / {wrong:<3}" if n else "-")
        print(f"{group:<20}" + "".join(f"{c:>14}" for c in cells))


def print_misses(misses: list[Miss]) -> None:
    print(f"\nsentences read wrongly ({len(misses)})")
    for miss in misses:
        said = "affirmed" if miss.got else "not affirmed"
        mark = f"  [known: {miss.known_failure}]" if known(miss) else "  [NEW]"
        print(f"- {miss.text!r}: {miss.group} expected {miss.expected}, read {said}{mark}")


def stale_marks(entries: list[Entry], misses: list[Miss]) -> list[str]:
    wrong = {m.text for m in misses}
    return [e.text for e in entries if e.known_failure and e.text not in wrong]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--group", action="append", help="only these groups (repeatable)")
    parser.add_argument("--no-failures", action="store_true", help="omit the list of misses")
    args = parser.parse_args(argv)

    from cds_service.clinical import knowledge_loader as knowledge_module

    started = time.perf_counter()
    knowledge = knowledge_module.load_knowledge()
    loaded = time.perf_counter() - started
    groups = [g.id for g in knowledge.file.exclusions if g.text is not None]
    entries = load_corpus(groups, args.corpus)
    shown = args.group or groups
    started = time.perf_counter()
    scores = score(entries, knowledge.text.text_reader.affirmed, groups)
    read = time.perf_counter() - started
    scores.per_group = {g: s for g, s in scores.per_group.items() if g in shown}
    scores.misses = [m for m in scores.misses if m.group in shown]

    print(f"reader: {Path(knowledge_module.__file__).resolve().parent.parent.parent}")
    print(
        f"corpus: {args.corpus} ({len(entries)} sentences; knowledge loaded in "
        f"{loaded:.1f} s, read in {read:.2f} s)\n"
    )
    print_groups(scores)
    print_readings(scores, shown)
    if not args.no_failures:
        print_misses(scores.misses)
    stale = stale_marks(entries, scores.misses)
    if stale:
        print(f"\nknown_failure marks now read right ({len(stale)}): {stale}")
    new = [m for m in scores.misses if not known(m)]
    return 1 if new or stale else 0


if __name__ == "__main__":
    sys.exit(main())
