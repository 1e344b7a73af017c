"""ICD-10-CM by hierarchy, from the official CMS tabular (package ``simple-icd-10-cm``).

The knowledge file names a code, a category (``R20``), a block or a range (``C00-C96``); every
code below it counts. Each entry is checked against the tabular when the knowledge loads: an
entry that is not a real ICD-10-CM code stops start-up.
"""

from __future__ import annotations

from functools import cache

import simple_icd_10_cm as icd


def normalise(code: str) -> str:
    """Without the dot, upper case: ``m54.12`` and ``M5412`` are ``M5412``."""
    return code.strip().replace(".", "").upper()


def fault(entry: str) -> str | None:
    """Why an entry is not usable, or None: a code, category or block of the tabular, or a
    range whose two ends are, low to high."""
    text = entry.strip()
    if text and icd.is_valid_item(text):
        return None
    low, sep, high = (part.strip() for part in text.partition("-"))
    if not (sep and low and high and icd.is_valid_item(low) and icd.is_valid_item(high)):
        return "is not in the ICD-10-CM tabular"
    if normalise(low) > normalise(high):
        return "is a reversed range"
    return None


def is_real(entry: str) -> bool:
    """A code, category or block of the tabular, or a range whose two ends are."""
    return fault(entry) is None


@cache
def _all_codes() -> tuple[str, ...]:
    return tuple(normalise(c) for c in icd.get_all_codes(with_dots=False) if "-" not in c)


def expand(entry: str) -> frozenset[str]:
    """The entry and every code below it, normalised; ValueError when it is not real."""
    text = entry.strip()
    problem = fault(text)
    if problem:
        raise ValueError(f"{entry!r} {problem}")
    if icd.is_valid_item(text) and "-" not in text:
        return frozenset({normalise(text), *(normalise(c) for c in icd.get_descendants(text))})
    if icd.is_valid_item(text) and icd.get_descendants(text):
        return frozenset(normalise(c) for c in icd.get_descendants(text))
    low, _, high = (normalise(part) for part in text.partition("-"))
    return frozenset(
        code for code in _all_codes() if low <= code[: len(low)] and code[: len(high)] <= high
    )


def description(code: str) -> str | None:
    """The tabular's title of a code (``M47.812``), or None when it is not a code."""
    text = code.strip()
    if not icd.is_valid_item(text):
        return None
    return str(icd.get_description(text))
