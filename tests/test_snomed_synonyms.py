"""SNOMED CT synonyms as text targets (issue 20): the roots of the groups that ask are expanded
with ``includeDesignations=true``; the displays and English synonyms of their concepts are kept
with the codes in the cache file and read as the group's generated targets, less the ones the
group's ``no_match`` examples prune. Every answer is mocked (``responses``), in the FHIR R4
shape of ``ValueSet.expansion.contains.designation``: ``tests/data/snomed_synonyms_answer.json``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from cds_service.clinical.compiled_knowledge import Knowledge
from cds_service.clinical.knowledge_loader import load_knowledge
from cds_service.clinical.synonym_targets import synonym_roots
from cds_service.ops.expansion_cache import read_cache
from cds_service.ops.knowledge_updater import KnowledgeUpdater
from cds_service.ops.terminology import SNOMED, TerminologyClient

TX = "https://tx.example.org/fhir"
EXPAND = f"{TX}/ValueSet/$expand"
ANSWER: dict[str, list[dict[str, Any]]] = {
    root: entries
    for root, entries in json.loads(
        (Path(__file__).parent / "data" / "snomed_synonyms_answer.json").read_text("utf-8")
    ).items()
    if not root.startswith("_")
}
BASE = load_knowledge()


def serve(mock: responses.RequestsMock, designations: bool = True) -> None:
    """Each root's mocked concepts; without ``designations`` (a server that ignores the
    parameter) displays only. A root the fixture lacks expands to itself."""

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        query = parse_qs(urlsplit(request.url or "").query)
        root = query["url"][0].rsplit(" ", 1)[-1]
        asked = designations and query.get("includeDesignations") == ["true"]
        entries = ANSWER.get(root, [{"code": root, "display": "a concept"}])
        contains = [
            {"system": SNOMED, **{k: v for k, v in e.items() if asked or k != "designation"}}
            for e in entries
        ]
        body = {
            "resourceType": "ValueSet",
            "expansion": {"total": len(contains), "contains": contains},
        }
        return 200, {}, json.dumps(body)

    mock.add_callback(responses.GET, EXPAND, callback=answer)


def refreshed(mock: responses.RequestsMock, cache: Path | None = None) -> KnowledgeUpdater:
    serve(mock)
    updater = KnowledgeUpdater(BASE, TerminologyClient(TX), cache=cache)
    updater.refresh_now()
    return updater


@pytest.fixture(scope="module")
def expanded() -> Iterator[Knowledge]:
    """The knowledge after one refresh from the mocked answer (shared: a pipeline per build)."""
    with responses.RequestsMock() as mock:
        yield refreshed(mock).knowledge


def affirms(knowledge: Knowledge, group: str, text: str) -> bool:
    return group in knowledge.text.text_reader.affirmed(text)


def kept(knowledge: Knowledge, group: str) -> set[str]:
    return {words for words, _ in knowledge.text.synonym_targets[group].kept}


def test_designations_are_asked_only_for_the_groups_that_read_synonyms(
    mock: responses.RequestsMock,
) -> None:
    refreshed(mock)
    asked = {
        parse_qs(urlsplit(c.request.url or "").query)["url"][0].rsplit(" ", 1)[-1]: parse_qs(
            urlsplit(c.request.url or "").query
        ).get("includeDesignations")
        for c in mock.calls
    }
    assert asked["363346000"] is None  # malignancy: thousands of concepts, no synonyms asked
    assert asked["22325002"] == ["true"] and asked["386661006"] == ["true"]
    assert set(synonym_roots(BASE.file)) == {r for r, v in asked.items() if v == ["true"]}


def test_terms_are_displays_and_english_designations_odd_shapes_skipped(
    mock: responses.RequestsMock,
) -> None:
    serve(mock)
    client = TerminologyClient(TX)
    radiculitis = client.expand_concepts("11049006", designations=True)
    assert radiculitis.designated
    assert radiculitis.terms == {"11049006": ["Cervical radiculitis", "Brachial radiculitis"]}
    radiculopathy = client.expand_concepts("54404000", designations=True)
    assert "radiculopatía cervical" not in radiculopathy.terms["54404000"]  # Spanish
    assert radiculopathy.terms["1153434007"] == ["C6 radiculopathy"]  # designation not a list
    assert client.expand_concepts("54404000").terms == {}  # not asked, none kept


def test_synonyms_become_targets_of_their_group_the_too_broad_pruned(
    expanded: Knowledge,
) -> None:
    knowledge = expanded
    assert {"steppage gait", "waddling gait", "facial weakness", "facial numbness"} <= kept(
        knowledge, "neurologic-deficit"
    )
    pruned = {words for words, _ in knowledge.text.synonym_targets["neurologic-deficit"].pruned}
    assert {"limp", "antalgic gait", "painful gait", "tingling of hand"} <= pruned
    assert {"hyperthermia"} <= {
        w for w, _ in knowledge.text.synonym_targets["fever-infection"].pruned
    }
    assert {"sweats"} <= {w for w, _ in knowledge.text.synonym_targets["night-sweats"].pruned}
    assert {"insect bite of neck", "sunburn of neck", "abrasion of neck"} <= {
        w for w, _ in knowledge.text.synonym_targets["trauma"].pruned
    }
    assert "brachial radiculitis" in kept(knowledge, "radiculopathy")
    assert "malignancy" not in knowledge.text.synonym_targets  # the group does not ask
    # a target the tabular already generates is not counted twice ("ataxic gait", R26.0)
    assert "ataxic gait" not in kept(knowledge, "neurologic-deficit")


@pytest.mark.parametrize(
    ("group", "text"),
    [
        ("neurologic-deficit", "Steppage gait on the right"),
        ("neurologic-deficit", "High stepping gait"),
        ("neurologic-deficit", "Waddling gait since the summer"),
        ("radiculopathy", "Cervical nerve root disorder"),
        ("fever-infection", "Hyperpyrexia overnight"),
        ("trauma", "Broken neck"),
    ],
)
def test_a_synonym_affirms_its_group_only_once_expanded(
    expanded: Knowledge, group: str, text: str
) -> None:
    assert not affirms(BASE, group, text)  # no server: not a target
    assert affirms(expanded, group, text)
    assert not affirms(expanded, group, f"Denies {text[0].lower()}{text[1:]}")


@pytest.mark.parametrize(
    ("group", "text"),
    [
        ("neurologic-deficit", "Limp from a sprained ankle"),
        ("neurologic-deficit", "Antalgic gait, left knee osteoarthritis"),
        ("fever-infection", "Hyperthermia from heat exposure at work"),
        ("night-sweats", "Sweats after a hot shower"),
        ("trauma", "Insect bite of neck"),
    ],
)
def test_a_pruned_synonym_never_fires(expanded: Knowledge, group: str, text: str) -> None:
    assert not affirms(expanded, group, text)


def test_a_text_without_a_candidate_word_never_reaches_the_nlp(
    expanded: Knowledge, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = expanded.text.text_reader
    parsed: list[str] = []

    def read(text: str) -> frozenset[str]:
        parsed.append(text)
        return frozenset()

    monkeypatch.setattr(reader, "_read", read)
    for text in ("Neck pain for three months", "Essential hypertension (HCC)", "Cervicalgia"):
        assert not reader.has_candidate(text)
        assert reader.affirmed(text) == frozenset()
    assert parsed == []


def test_the_cache_keeps_the_terms_with_the_codes_and_restores_the_targets(
    mock: responses.RequestsMock, tmp_path: Path
) -> None:
    cache = tmp_path / "snomed.json"
    first = refreshed(mock, cache).knowledge
    stored = read_cache(cache)
    assert stored is not None
    assert stored.terms["22325002"]["8117002"] == ["Steppage gait", "High stepping gait"]
    assert set(stored.terms) == set(synonym_roots(BASE.file))
    restarted = KnowledgeUpdater(BASE, None, cache=cache)  # the server down: the cache alone
    assert restarted.load_cache()
    assert restarted.knowledge.text.synonym_targets == first.text.synonym_targets
    assert affirms(restarted.knowledge, "neurologic-deficit", "Waddling gait")


def test_an_answer_without_designations_keeps_the_previous_synonyms(
    mock: responses.RequestsMock, warnings: pytest.LogCaptureFixture
) -> None:
    updater = refreshed(mock)
    before = updater.knowledge.text.synonym_targets
    mock.reset()
    serve(mock, designations=False)
    assert updater.refresh()
    assert updater.knowledge.text.synonym_targets == before
    lines = [r for r in warnings.records if r.levelno == logging.WARNING]
    assert len(lines) == 1 and "no designations" in lines[0].getMessage()


def test_a_failed_refresh_keeps_the_previous_synonyms(
    mock: responses.RequestsMock, warnings: pytest.LogCaptureFixture
) -> None:
    updater = refreshed(mock)
    before = updater.knowledge
    mock.reset()
    mock.get(EXPAND, json={"resourceType": "ValueSet", "expansion": {"contains": "odd"}})
    assert updater.refresh() is False
    assert updater.knowledge is before
    assert affirms(updater.knowledge, "neurologic-deficit", "Steppage gait")
    assert len([r for r in warnings.records if r.levelno == logging.WARNING]) == 1


def test_the_first_answer_without_designations_reads_the_displays(
    mock: responses.RequestsMock, warnings: pytest.LogCaptureFixture
) -> None:
    serve(mock, designations=False)
    updater = KnowledgeUpdater(BASE, TerminologyClient(TX))
    updater.refresh_now()
    assert "steppage gait" in kept(updater.knowledge, "neurologic-deficit")  # a display
    assert "high stepping gait" not in kept(updater.knowledge, "neurologic-deficit")
    assert "no designations" in warnings.text
