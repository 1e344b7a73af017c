"""A group's text targets from the SNOMED CT synonyms of its roots (issue 20).

With a terminology server, the roots of a group whose ``generated`` block says
``snomed_synonyms: true`` are expanded with their designations (ops/terminology.py): the display
and English synonyms of every concept below each root, kept with the codes in the cache file.
Each term is cut and matched as the ICD-10-CM targets are (generated_targets.py: the words a
clinician writes, at most ``max_words``, by lemma), less those hand-listed or already generated
from the tabular, less those the block's ``no_match`` examples prune: a synonym too broad to
name the finding (a one-word generic term such as "Limp", which "Limp from a sprained ankle"
holds) never fires. Without a server, or for a group that does not ask, there are none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from cds_service.clinical.generated_targets import Generated, select_targets

if TYPE_CHECKING:
    from cds_service.clinical.knowledge_schema import ExclusionGroup, KnowledgeFile


def asks_synonyms(group: ExclusionGroup) -> bool:
    text = group.text
    return text is not None and text.generated is not None and text.generated.snomed_synonyms


def synonym_roots(file: KnowledgeFile) -> list[str]:
    """The roots whose expansions are asked with their designations."""
    return sorted({r for g in file.exclusions if asks_synonyms(g) for r in g.snomed_roots})


def root_terms(terms: Mapping[str, Mapping[str, Iterable[str]]]) -> dict[str, list[str]]:
    """Root to the terms of every code below it (as the cache file keeps them, by code)."""
    return {
        root: sorted({t for words in by_code.values() for t in words})
        for root, by_code in terms.items()
    }


def group_synonym_targets(
    groups: Iterable[ExclusionGroup],
    terms: Mapping[str, Iterable[str]],
    tabular: Mapping[str, Generated],
) -> dict[str, Generated]:
    """Each asking group's synonym targets, less its tabular ones (none without terms)."""
    found = {}
    for group in groups:
        if not asks_synonyms(group) or group.text is None or group.text.generated is None:
            continue
        words = [t for root in group.snomed_roots for t in terms.get(root, ())]
        done = tabular.get(group.id)
        skip = [lemmas for _, lemmas in done.kept] if done is not None else []
        found[group.id] = select_targets(words, group.text.generated, group.text.phrases, skip)
    return found
