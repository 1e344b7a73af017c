"""medspaCy's default ConText cues, reviewed for the exclusion groups.

The text reader loads medspaCy's default modifiers ("no", "denies", "history", "if", "mother",
"resolved"...). Each was written for other findings; the knowledge file's
``reviewed_default_cues`` says, for every one of them, whether it reads our groups right
(``keep``) or a reviewed rule of ``text_context_rules`` replaces it (``replaced``: the rule
``replaces_default`` under the same literal), with a one-line reason. A test compares the list
with the defaults medspaCy installs: a cue nobody reviewed fails it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, Protocol

from cds_service.clinical.code_lists import Strict


class ReviewedCue(Strict):
    """One of medspaCy's default ConText cues, and what the review decided of it."""

    literal: str
    category: Literal[
        "NEGATED_EXISTENCE", "POSSIBLE_EXISTENCE", "HISTORICAL", "HYPOTHETICAL", "FAMILY"
    ]
    direction: Literal["FORWARD", "BACKWARD", "BIDIRECTIONAL", "TERMINATE", "PSEUDO"]
    decision: Literal["keep", "replaced"]
    why: str


class _Rule(Protocol):
    @property
    def literal(self) -> str: ...
    @property
    def replaces_default(self) -> bool: ...


def check_reviewed_cues(cues: Iterable[ReviewedCue], rules: Iterable[_Rule]) -> None:
    """Each cue reviewed once; a cue is ``replaced`` exactly when a rule replaces it."""
    cues = list(cues)
    literals = [c.literal.lower() for c in cues]
    twice = sorted({w for w in literals if literals.count(w) > 1})
    if twice:
        raise ValueError(f"default cues reviewed twice: {twice}")
    replacing = {r.literal.lower() for r in rules if r.replaces_default}
    said = {c.literal.lower() for c in cues if c.decision == "replaced"}
    if cues and replacing != said:
        raise ValueError(
            "reviewed_default_cues and the rules that replace a default disagree: "
            f"{sorted(replacing ^ said)}"
        )


def installed_default_cues() -> list[tuple[str, str, str]]:
    """The default cues of the installed medspaCy: (literal, category, direction)."""
    import medspacy.context  # noqa: F401  (registers the "medspacy_context" factory)
    import spacy

    from cds_service.clinical.context_pipeline import silence_libraries

    silence_libraries()
    context: Any = spacy.blank("en").add_pipe("medspacy_context", config={"rules": None})
    raw = json.loads(Path(context.DEFAULT_RULES_FILEPATH).read_text(encoding="utf-8"))
    return [(r["literal"], r["category"], r["direction"]) for r in raw["context_rules"]]
