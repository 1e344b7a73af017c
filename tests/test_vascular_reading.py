"""A vascular finding's words read with ConText (issue 20, i20rest): in the record and in a
vascular study's own reason or note, a denied, hypothetical or relative's finding does not count
(second rule); an affirmed, past or suspected one does (first rule, failing safe). The rule's
patients are scenarios (``vasc-neg-*``)."""

from __future__ import annotations

import pytest

from cds_service.clinical.knowledge_loader import load_knowledge

KNOWLEDGE = load_knowledge()


@pytest.mark.parametrize(
    "text",
    [
        "Rule out dissection",
        "?dissection",
        "r/o dissection",
        "Evaluate for dissection",
        "Eval for vertebral artery dissection",
        "To exclude carotid dissection",
        "Neck pain after chiropractic manipulation, evaluate for vertebral artery dissection",
        "Known right carotid artery dissection, follow-up",
        "Cannot rule out vertebral artery dissection",
    ],
)
def test_a_vascular_studys_reason_that_names_or_suspects_a_dissection(text: str) -> None:
    assert KNOWLEDGE.vascular.order_names_vascular_finding(text)


@pytest.mark.parametrize(
    "text",
    [
        "No evidence of dissection",
        "No dissection on prior CTA",
        "Carotid dissection ruled out",
        "Denies history of carotid artery dissection",
        "Mother had a carotid artery dissection",
        "s/p radical neck dissection 2019",
        "Lymph node dissection",
        "Cervicogenic headache",
    ],
)
def test_a_vascular_studys_reason_that_denies_or_names_another_dissection(text: str) -> None:
    assert not KNOWLEDGE.vascular.order_names_vascular_finding(text)


@pytest.mark.parametrize("text", ["Rule out dissection", "?dissection", "Aortic dissection"])
def test_dissection_alone_is_no_recorded_finding(text: str) -> None:
    """In a Condition, "dissection" alone may be an operation or the aorta's."""
    assert not KNOWLEDGE.vascular.names_vascular_finding(text)


def test_a_text_without_the_words_never_reaches_the_nlp() -> None:
    reader = KNOWLEDGE.vascular.vascular_reader
    assert not reader.has_candidate("Neck pain for three months, worse with sitting")
    assert reader.has_candidate("No evidence of carotid artery dissection")
