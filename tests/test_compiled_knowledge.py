"""The compiled knowledge: one object holding the validated file and its look-ups, built once
per version; a terminology refresh makes a new version sharing the ConText reader."""

from __future__ import annotations

from cds_service.clinical.compiled_knowledge import Knowledge
from cds_service.clinical.knowledge_loader import load_knowledge

KNOWLEDGE = load_knowledge()
MALIGNANCY = "363346000"


def test_the_look_ups_read_the_version_they_belong_to() -> None:
    assert KNOWLEDGE.codes.file is KNOWLEDGE.file
    assert KNOWLEDGE.text.file is KNOWLEDGE.file
    assert KNOWLEDGE.vascular.file is KNOWLEDGE.file


def test_a_refresh_is_a_new_version_sharing_the_text_reader() -> None:
    refreshed = KNOWLEDGE.with_expansions({MALIGNANCY: ["9000000000001"]})
    assert refreshed is not KNOWLEDGE and refreshed.file is not KNOWLEDGE.file
    assert refreshed.text.text_reader is KNOWLEDGE.text.text_reader
    snomed = KNOWLEDGE.file.code_systems["snomed"].uri
    group = next(g.id for g in KNOWLEDGE.file.exclusions if MALIGNANCY in g.snomed_roots)
    assert refreshed.codes.exclusion_codes[group].contains(snomed, "9000000000001")
    assert not KNOWLEDGE.codes.exclusion_codes[group].contains(snomed, "9000000000001")


class Memo:
    built = 0

    def __init__(self, knowledge: Knowledge) -> None:
        Memo.built += 1
        self.knowledge = knowledge


def test_what_a_later_stage_derives_is_built_once_per_version() -> None:
    built = Memo.built
    first = KNOWLEDGE.derived(Memo)
    assert KNOWLEDGE.derived(Memo) is first and Memo.built == built + 1
    refreshed = KNOWLEDGE.with_expansions({})
    assert refreshed.derived(Memo) is not first and refreshed.derived(Memo).knowledge is refreshed
    assert Memo.built == built + 2
