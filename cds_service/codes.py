"""Code matching: exact codes, ICD-10-CM prefixes (``Z85*``) and ranges (``C00-C96``).

A :class:`CodeSet` answers "is this (system, code) in the set?" in O(1) for exact codes and
O(patterns) for the few prefix and range patterns, which is what lets the record layer pick the
relevant resources out of thousands on the raw JSON.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


def normalise(code: str) -> str:
    """ICD-10-CM codes compare without the dot and case-insensitively; others are kept."""
    return code.strip().replace(".", "").upper()


@dataclass(frozen=True)
class CodePattern:
    """One entry of a code list: exact (``M54.12``), prefix (``Z85*``) or range (``C00-C96``)."""

    text: str
    low: str
    high: str | None  # None: exact or prefix
    prefix: bool

    @classmethod
    def parse(cls, text: str) -> CodePattern:
        raw = text.strip()
        if not raw:
            raise ValueError("empty code")
        if raw.endswith("*"):
            stem = normalise(raw.rstrip("*"))
            if not stem:
                raise ValueError(f"pattern {text!r} has no stem")
            return cls(text, stem, None, True)
        if "-" in raw and not raw[0].isdigit():
            # ranges are ICD-10-CM only; LOINC codes (digits, dash) stay exact
            low, _, high = raw.partition("-")
            lo, hi = normalise(low), normalise(high)
            if not lo or not hi or lo > hi:
                raise ValueError(f"range {text!r} is empty or reversed")
            return cls(text, lo, hi, False)
        return cls(text, raw, None, False)

    @property
    def is_exact(self) -> bool:
        return self.high is None and not self.prefix

    def matches(self, code: str) -> bool:
        value = normalise(code)
        if self.prefix:
            return value.startswith(self.low)
        if self.high is not None:
            # inclusive, and a code below the upper bound's category (C96.4 under C96) is in
            return self.low <= value and (value <= self.high or value.startswith(self.high))
        return value == normalise(self.low)


@dataclass
class CodeSet:
    """Codes grouped by canonical system URI."""

    exact: dict[str, set[str]] = field(default_factory=dict)
    patterns: dict[str, list[CodePattern]] = field(default_factory=dict)

    def add(self, system: str, pattern: CodePattern) -> None:
        if pattern.is_exact:
            self.exact.setdefault(system, set()).add(normalise(pattern.low))
        else:
            self.patterns.setdefault(system, []).append(pattern)

    def update(self, other: CodeSet) -> None:
        for system, codes in other.exact.items():
            self.exact.setdefault(system, set()).update(codes)
        for system, patterns in other.patterns.items():
            self.patterns.setdefault(system, []).extend(patterns)

    def contains(self, system: str, code: str) -> bool:
        exact = self.exact.get(system)
        if exact is not None and normalise(code) in exact:
            return True
        return any(p.matches(code) for p in self.patterns.get(system, ()))

    def __bool__(self) -> bool:
        return bool(self.exact) or bool(self.patterns)


def any_match(codes: CodeSet, codings: Iterable[tuple[str, str]]) -> bool:
    """True when any (canonical system, code) pair is in ``codes``."""
    return any(codes.contains(system, code) for system, code in codings)
