"""Code matching: exact codes per system, and ICD-10-CM by hierarchy.

A :class:`CodeSet` answers "is this (system, code) in the set?" with set look-ups, which is what
lets the record layer pick the relevant resources out of thousands on the raw JSON. ICD-10-CM
entries of the knowledge file are expanded to every code below them (see ``icd10cm.py``); a
record's ICD-10-CM code also matches through its ancestors, so a code deeper than the tabular
knows (a local extension, a newer release) still counts under its category (failing safe).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

SHORTEST_ICD_CATEGORY = 3


def normalise(code: str) -> str:
    """Codes compare without dots and case-insensitively (ICD-10-CM ``m54.12`` = ``M5412``)."""
    return code.strip().replace(".", "").upper()


@dataclass
class CodeSet:
    """Codes grouped by canonical system URI; ``hierarchical`` systems match by ancestor."""

    exact: dict[str, set[str]] = field(default_factory=dict)
    hierarchical: set[str] = field(default_factory=set)

    def add(self, system: str, code: str) -> None:
        self.exact.setdefault(system, set()).add(normalise(code))

    def add_all(self, system: str, codes: Iterable[str], *, hierarchical: bool = False) -> None:
        self.exact.setdefault(system, set()).update(normalise(c) for c in codes)
        if hierarchical:
            self.hierarchical.add(system)

    def update(self, other: CodeSet) -> None:
        for system, codes in other.exact.items():
            self.exact.setdefault(system, set()).update(codes)
        self.hierarchical |= other.hierarchical

    def contains(self, system: str, code: str) -> bool:
        codes = self.exact.get(system)
        if not codes:
            return False
        value = normalise(code)
        if value in codes:
            return True
        if system not in self.hierarchical:
            return False
        return any(
            value[:length] in codes
            for length in range(len(value) - 1, SHORTEST_ICD_CATEGORY - 1, -1)
        )

    def __bool__(self) -> bool:
        return any(self.exact.values())


def any_match(codes: CodeSet, codings: Iterable[tuple[str, str]]) -> bool:
    """True when any (canonical system, code) pair is in ``codes``."""
    return any(codes.contains(system, code) for system, code in codings)
