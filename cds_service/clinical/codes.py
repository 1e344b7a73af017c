"""Code matching: exact codes per system, and ICD-10-CM by hierarchy.

A :class:`CodeSet` answers "is this (system, code) in the set?" with set look-ups, which is what
lets the record layer pick the relevant resources out of thousands on the raw JSON. ICD-10-CM
entries of the knowledge file are expanded to every code below them (see ``icd10cm.py``); a
record's ICD-10-CM code also matches through its ancestors, so a code deeper than the tabular
knows (a local extension, a newer release) still counts under its category (failing safe).
Some entries mean a category alone (``alone``: M54.1 radiculopathy, site not stated, whose lumbar
codes are not the group's). A coding that has a code but no system (:data:`NO_SYSTEM`) matches a
set that reads ``any_system`` in any of its systems, and so does a coding whose system the set
does not hold: a code whose system is missing or unknown is read failing safe, for exclusions
only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

SHORTEST_ICD_CATEGORY = 3
NO_SYSTEM = ""
"""The system of a coding that has none (see ``fhir_read.codings``)."""


SNOMED = "http://snomed.info/sct"
_SNOMED_EDITION = re.compile(r"^https?://snomed\.info/sct/\d+(?:/version/\d+)?$")
_SPELLINGS_KEPT = 4096
SPELLING_KEY_MAX_CHARS = 256
"""A system URI longer than this is looked up every time, not memoised: the memo holds at
most ``_SPELLINGS_KEPT`` keys of at most this many characters (under 2 MB). 200 distinct
1 MB systems grew a worker by 260 MB when any length was kept."""


class SystemTable(dict[str, str]):
    """System URI (canonical or alias) to its canonical URI, read as EHRs write them: an exact
    entry first, else case, surrounding spaces and a trailing slash aside
    (``HTTP://HL7.ORG/FHIR/SID/ICD-10-CM/``), and a SNOMED CT edition URI
    (``http://snomed.info/sct/731000124108``) as SNOMED CT."""

    def __init__(self, entries: dict[str, str]) -> None:
        super().__init__(entries)
        self._loose = {self._loosen(k): v for k, v in entries.items()}
        self._spellings: dict[str, str | None] = {}

    @staticmethod
    def _loosen(system: str) -> str:
        return system.strip().rstrip("/").casefold()

    def get(self, key: str, default: Any = None) -> Any:
        found = super().get(key)
        if found is not None:
            return found
        if key in self._spellings:
            known = self._spellings[key]
            return default if known is None else known
        loose = self._loosen(key)
        known = self._loose.get(loose)
        if known is None and _SNOMED_EDITION.match(loose):
            known = self._loose.get(SNOMED)
        if len(key) <= SPELLING_KEY_MAX_CHARS and len(self._spellings) < _SPELLINGS_KEPT:
            self._spellings[key] = known
        return default if known is None else known


def normalise(code: str) -> str:
    """Codes compare without dots and case-insensitively (ICD-10-CM ``m54.12`` = ``M5412``)."""
    return code.strip().replace(".", "").upper()


@dataclass
class CodeSet:
    """Codes grouped by canonical system URI; ``hierarchical`` systems match by ancestor."""

    exact: dict[str, set[str]] = field(default_factory=dict)
    hierarchical: set[str] = field(default_factory=set)
    alone: dict[str, set[str]] = field(default_factory=dict)
    """Codes that match only themselves: no ancestor walk reaches them."""
    any_system: bool = False
    """A system-less code matches when it is in any system's codes."""

    def add(self, system: str, code: str) -> None:
        self.exact.setdefault(system, set()).add(normalise(code))

    def add_all(self, system: str, codes: Iterable[str], *, hierarchical: bool = False) -> None:
        self.exact.setdefault(system, set()).update(normalise(c) for c in codes)
        if hierarchical:
            self.hierarchical.add(system)

    def add_alone(self, system: str, codes: Iterable[str]) -> None:
        self.alone.setdefault(system, set()).update(normalise(c) for c in codes)

    def update(self, other: CodeSet) -> None:
        for system, codes in other.exact.items():
            self.exact.setdefault(system, set()).update(codes)
        for system, codes in other.alone.items():
            self.alone.setdefault(system, set()).update(codes)
        self.hierarchical |= other.hierarchical
        self.any_system |= other.any_system

    def contains(self, system: str, code: str) -> bool:
        """A missing system, or one this set does not hold (a local or misspelt URI), is
        matched in every system of the set when it reads ``any_system``."""
        if system == NO_SYSTEM or (system not in self.exact and system not in self.alone):
            return self.any_system and any(
                self._in_system(known, code) for known in {*self.exact, *self.alone}
            )
        return self._in_system(system, code)

    def _in_system(self, system: str, code: str) -> bool:
        value = normalise(code)
        if value in self.alone.get(system, ()):
            return True
        codes = self.exact.get(system)
        if not codes:
            return False
        if value in codes:
            return True
        if system not in self.hierarchical:
            return False
        return any(
            value[:length] in codes
            for length in range(len(value) - 1, SHORTEST_ICD_CATEGORY - 1, -1)
        )

    def __bool__(self) -> bool:
        return any(self.exact.values()) or any(self.alone.values())


def any_match(codes: CodeSet, codings: Iterable[tuple[str, str]]) -> bool:
    """True when any (canonical system, code) pair is in ``codes``."""
    return any(codes.contains(system, code) for system, code in codings)
