"""Issue 20 (i20fp): a finding's plain words explained away by a named local cause ("Left arm
pain after flu vaccine", "Tennis elbow, right arm pain with gripping"), never when the sentence
carries radiating words or doubts the cause (the first rule).

Each rule's ``match`` and ``no_match`` examples in the knowledge file run here; the other
expectations are written from the seed ("radiating arm pain, numbness, tingling, or weakness").
"""

from __future__ import annotations

import pytest

from cds_service.clinical.knowledge_loader import load_knowledge
from cds_service.clinical.local_causes import LocalCause, compile_cause

KNOWLEDGE = load_knowledge()
READER = KNOWLEDGE.text.text_reader

EXAMPLES = [
    (group.id, rule.name, text, explained)
    for group in KNOWLEDGE.file.exclusions
    if group.text is not None
    for rule in group.text.local_causes
    for explained, texts in ((True, rule.match), (False, rule.no_match))
    for text in texts
]


def test_the_knowledge_file_has_local_causes() -> None:
    assert any(group_id == "radiculopathy" for group_id, *_ in EXAMPLES)


@pytest.mark.parametrize(("group_id", "name", "text", "explained"), EXAMPLES)
def test_the_knowledge_files_local_cause_examples(
    group_id: str, name: str, text: str, explained: bool
) -> None:
    """A rule's ``match`` texts no longer affirm its group; its ``no_match`` texts still do."""
    assert (group_id in READER.affirmed(text)) is not explained, name


@pytest.mark.parametrize(
    "text",
    [
        "Radiating arm pain after flu vaccine",
        "Arm pain after flu shot, electric quality",
        "Arm pain after tetanus shot with numbness of the thumb",
        "Arm pain after flu vaccine, possibly radiculopathy",
        "Arm pain, not from the flu shot",
        "Left arm pain, denies recent injection",
        "Tennis elbow vs cervical radiculopathy, arm pain with gripping",
        "Left arm pain",
    ],
)
def test_radiating_words_or_a_doubted_cause_keep_the_finding(text: str) -> None:
    assert "radiculopathy" in READER.affirmed(text)


def test_a_final_star_matches_any_ending_and_nothing_else() -> None:
    rule = LocalCause(
        name="n",
        causes=[r"after\s+vaccine"],
        unless=["radiat*", "down"],
        why="w",
        match=["m"],
        no_match=["n"],
    )
    cause = compile_cause(rule)
    assert cause.explains("arm pain after vaccine")
    assert not cause.explains("arm pain radiates after vaccine")
    assert cause.explains("arm pain after vaccine, downtown clinic")
    assert not cause.explains("arm pain after the injection")
