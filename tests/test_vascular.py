"""The vascular-study rule's knowledge (issue 20): its words read what they say, its studies
exist, its card's summary fits. The rule's patients are scenarios (``vasc-*``)."""

from __future__ import annotations

import pytest

from cds_service.clinical.compiled_knowledge import Knowledge
from cds_service.clinical.knowledge_loader import load_knowledge
from cds_service.clinical.knowledge_schema import SUMMARY_LIMIT, KnowledgeFile

KNOWLEDGE = load_knowledge()
FOUND = KNOWLEDGE.file.vascular_findings
assert FOUND is not None


@pytest.mark.parametrize("text", FOUND.match)
def test_the_words_name_a_vascular_finding(text: str) -> None:
    assert KNOWLEDGE.vascular.names_vascular_finding(text)


@pytest.mark.parametrize("text", FOUND.no_match)
def test_the_words_do_not_take_a_spinal_stenosis_for_one(text: str) -> None:
    assert not KNOWLEDGE.vascular.names_vascular_finding(text)


def test_the_studies_are_the_neck_angiographies_of_the_table() -> None:
    names = {
        KNOWLEDGE.file.procedures_by_id[p].name for p in KNOWLEDGE.vascular.vascular_procedures
    }
    assert names == {
        "MRA neck without IV contrast",
        "MRA neck with IV contrast",
        "MRA neck without and with IV contrast",
        "CTA neck with IV contrast",
    }


def test_the_summary_fits_for_every_study() -> None:
    assert FOUND is not None
    for procedure in KNOWLEDGE.vascular.vascular_procedures:
        name = KNOWLEDGE.file.procedures_by_id[procedure].name
        assert len(FOUND.summary.format(procedure=name)) <= SUMMARY_LIMIT


def test_the_codes_are_read_below_their_categories_and_without_a_system() -> None:
    codes = KNOWLEDGE.vascular.vascular_codes
    icd = KNOWLEDGE.file.code_systems["icd10cm"].uri
    assert codes.contains(icd, "I77.71") and codes.contains(icd, "I77.74")
    assert codes.contains(icd, "I65.22") and codes.contains("", "I65.1")
    assert not codes.contains(icd, "I10") and not codes.contains(icd, "M48.02")


def test_an_unknown_study_is_a_fault_of_the_file() -> None:
    data = KNOWLEDGE.file.model_dump()
    data["vascular_findings"]["procedures"] = ["mra-brain"]
    with pytest.raises(ValueError, match="mra-brain"):  # the topics' check or the look-up's
        Knowledge(KnowledgeFile.model_validate(data), KNOWLEDGE.text.text_reader)
