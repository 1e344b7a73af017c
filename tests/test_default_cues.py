"""Issue 20 (i20fp): every default ConText cue medspaCy ships is reviewed for the exclusion
groups in the knowledge file (``reviewed_default_cues``): kept, or replaced by a reviewed rule.

The installed defaults are compared with the review: a cue medspaCy adds, drops or changes
fails here until someone reviews it. The readings that matter for our groups are attacked both
ways in tests/assertion_corpus.yaml (its i20fp block).
"""

from __future__ import annotations

import pytest

from cds_service.clinical.default_cues import (
    ReviewedCue,
    check_reviewed_cues,
    installed_default_cues,
)
from cds_service.clinical.knowledge_loader import load_knowledge
from cds_service.clinical.text_lookups import context_rules_of

KNOWLEDGE = load_knowledge()
REVIEWED = KNOWLEDGE.file.reviewed_default_cues
INSTALLED = installed_default_cues()


def test_every_installed_default_cue_is_reviewed() -> None:
    reviewed = {(c.literal, c.category, c.direction) for c in REVIEWED}
    unreviewed = [cue for cue in INSTALLED if cue not in reviewed]
    assert not unreviewed, f"medspaCy default cues nobody reviewed: {unreviewed}"


def test_no_reviewed_cue_is_stale() -> None:
    installed = set(INSTALLED)
    stale = [c.literal for c in REVIEWED if (c.literal, c.category, c.direction) not in installed]
    assert not stale, f"reviewed cues medspaCy no longer ships: {stale}"


def test_each_replaced_cue_has_its_reviewed_rule_and_a_reason() -> None:
    rules = {r.literal.lower(): r for r in context_rules_of(KNOWLEDGE.file) if r.replaces_default}
    for cue in REVIEWED:
        assert len(cue.why) > 10, cue.literal
        assert (cue.literal.lower() in rules) is (cue.decision == "replaced"), cue.literal


def _cue(literal: str, decision: str) -> ReviewedCue:
    return ReviewedCue.model_validate(
        {
            "literal": literal,
            "category": "NEGATED_EXISTENCE",
            "direction": "FORWARD",
            "decision": decision,
            "why": "w",
        }
    )


class _Rule:
    def __init__(self, literal: str, replaces_default: bool) -> None:
        self.literal = literal
        self.replaces_default = replaces_default


@pytest.mark.parametrize(
    ("cues", "rules", "fault"),
    [
        ([_cue("no", "keep"), _cue("No", "keep")], [], "twice"),
        ([_cue("no", "replaced")], [], "disagree"),
        ([_cue("no", "keep")], [_Rule("no", True)], "disagree"),
    ],
)
def test_a_review_that_disagrees_with_the_rules_is_refused(
    cues: list[ReviewedCue], rules: list[_Rule], fault: str
) -> None:
    with pytest.raises(ValueError, match=fault):
        check_reviewed_cues(cues, rules)


def test_a_review_that_agrees_is_accepted() -> None:
    check_reviewed_cues([_cue("no", "replaced"), _cue("if", "keep")], [_Rule("no", True)])
