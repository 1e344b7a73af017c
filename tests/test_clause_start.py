"""A finding family's mention never spans a clause that a comma and a verb start ("Denies arm
numbness, has weakness in the right hand"), and still spans the verb without the comma ("Gait
has become unsteady"). Expectations from the seed: weakness in the hand, numbness in the hand
and gait instability each put the patient outside the variant; a denied one does not."""

from __future__ import annotations

import pytest

from cds_service.clinical.knowledge_loader import load_knowledge

READER = load_knowledge().text.text_reader


@pytest.mark.parametrize(
    ("text", "groups"),
    [
        (
            "Denies arm numbness, has weakness in right hand",
            {"radiculopathy", "neurologic-deficit"},
        ),
        ("Gait has become unsteady", {"neurologic-deficit"}),
        ("Right hand has been numb", {"radiculopathy", "neurologic-deficit"}),
        ("Denies weakness or numbness, gait is broad-based", {"neurologic-deficit"}),
    ],
)
def test_affirmed_after_a_new_clause(text: str, groups: set[str]) -> None:
    assert groups <= READER.affirmed(text)


@pytest.mark.parametrize(
    "text",
    ["Denies arm numbness, has neck pain", "Denies numbness in the hand, has a headache"],
)
def test_the_denied_clause_stays_denied(text: str) -> None:
    found = READER.affirmed(text)
    assert "radiculopathy" not in found
    assert "neurologic-deficit" not in found
