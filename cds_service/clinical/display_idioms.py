"""What EHRs add to a display that means nothing clinically, removed before a text is read.

Epic appends "(HCC)" (Hierarchical Condition Category, a billing risk-adjustment flag) to
problem-list displays: "Essential hypertension (HCC)". Read as words, "HCC" is hepatocellular
carcinoma, and every such patient would be outside the variant. SNOMED CT fully specified
names end in a semantic tag ("(finding)", "(disorder)") that says what kind of concept it is,
not what the patient has. The knowledge file lists each idiom with its reason and examples
(``match``: the idiom is found and removed; ``no_match``: the text is left as it is), run as
tests; the text reader removes them before anything else reads the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field, model_validator


class DisplayIdiom(BaseModel):
    """One idiom: a regular expression of what is removed, and why it means nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    pattern: str
    case_sensitive: bool = False
    """Epic writes "(HCC)" in capitals: a clinician's lower-case "(hcc)" is left to be read
    (as hepatocellular carcinoma, failing safe)."""
    why: str
    match: list[str] = Field(min_length=1)
    no_match: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _compiles(self) -> DisplayIdiom:
        try:
            re.compile(self.pattern)
        except re.error as exc:
            raise ValueError(
                f"display idiom {self.id!r}: pattern does not compile: {exc}"
            ) from None
        return self


def idioms_pattern(idioms: Iterable[DisplayIdiom]) -> re.Pattern[str] | None:
    """One expression for every idiom (each with its own case rule), or None when none."""
    parts = [f"(?:{i.pattern})" if i.case_sensitive else f"(?i:{i.pattern})" for i in idioms]
    return re.compile("|".join(parts)) if parts else None


def without_idioms(pattern: re.Pattern[str] | None, text: str) -> str:
    """The text with every idiom replaced by a space (the words around it stay apart)."""
    if pattern is None:
        return text
    return pattern.sub(" ", text)
