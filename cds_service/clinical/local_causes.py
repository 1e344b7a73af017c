"""Local causes: a finding's plain words attributed, in the same sentence, to a named cause
that is not the finding ("Left arm pain after flu vaccine" is injection-site soreness;
"Tennis elbow, right arm pain with gripping" is lateral epicondylitis; neither is radicular).

A rule names the ``causes`` (regular expressions: "after ... vaccine", "tennis elbow") and the
words that keep the finding whatever the cause (``unless``: radiating words, any other word of
the finding, a word that denies or doubts the cause). A group's mention is then not read when
its sentence holds a cause and none of those words. Failing safe: in doubt, the finding counts
("Arm pain after flu shot, now shooting down to the fingers", "Arm pain, no recent vaccine").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from cds_service.clinical.code_lists import Strict


class LocalCause(Strict):
    """One local-cause rule of a group's text (see the module)."""

    name: str
    why: str
    causes: list[str] = Field(min_length=1)
    """Regular expressions (case-insensitive) naming the cause in the sentence."""
    unless: list[str] = Field(min_length=1)
    """Words or phrases that keep the finding when anywhere in the sentence; a final ``*``
    matches any ending ("radiat*": radiating, radiates, radiation)."""
    match: list[str] = Field(min_length=1)
    """Texts the rule explains away: the group is not read in them."""
    no_match: list[str] = Field(min_length=1)
    """Texts the rule leaves alone: the group is still read in them."""


@dataclass(frozen=True)
class Cause:
    """A local-cause rule compiled: its name, the causes and the words that keep the finding."""

    name: str
    causes: re.Pattern[str]
    unless: re.Pattern[str]

    def explains(self, sentence: str) -> bool:
        """The sentence names the cause and no word that keeps the finding."""
        return self.causes.search(sentence) is not None and self.unless.search(sentence) is None


def _unless_part(word: str) -> str:
    stem = word.removesuffix("*")
    body = r"[\s\-]+".join(re.escape(w) for w in stem.split())
    return body + (r"\w*" if word.endswith("*") else "")


def compile_cause(rule: LocalCause) -> Cause:
    causes = "|".join(f"(?:{c})" for c in rule.causes)
    unless = "|".join(_unless_part(w) for w in rule.unless)
    return Cause(
        rule.name,
        re.compile(causes, re.IGNORECASE),
        re.compile(rf"(?<!\w)(?:{unless})(?!\w)", re.IGNORECASE),
    )


def explained_locally(ent: Any, causes: tuple[Cause, ...]) -> bool:
    """A mention whose sentence attributes it to a local cause (one of ``causes``)."""
    sentence = ent.sent.text
    return any(cause.explains(sentence) for cause in causes)
