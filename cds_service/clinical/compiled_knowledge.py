"""A knowledge file compiled: the validated file and its look-ups, built once.

:class:`Knowledge` is what the rules read. It holds the file as validated (``file``,
knowledge_schema.py) and three look-ups built from it: ``codes`` (code_lookups.py), ``text``
(text_lookups.py) and ``vascular`` (vascular.py). It is built when a file is loaded
(knowledge_loader.py) and again after each terminology refresh (:meth:`Knowledge.with_expansions`),
every look-up at once, so that nothing about the file can fail at request time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar, cast

from cds_service.clinical.assertions import TextReader
from cds_service.clinical.code_lookups import CodeLookups
from cds_service.clinical.knowledge_schema import KnowledgeFile
from cds_service.clinical.synonym_targets import group_synonym_targets
from cds_service.clinical.text_lookups import TextLookups
from cds_service.clinical.vascular import VascularLookups

T = TypeVar("T")


class Knowledge:
    """One version of a knowledge file, compiled (see the module's docstring).

    ``reader``: the ConText reader of an earlier version of the same file, shared (it depends
    on the file's phrases only, and takes about a second to build).
    """

    def __init__(self, file: KnowledgeFile, reader: TextReader | None = None) -> None:
        self.file = file
        self.vascular = VascularLookups(file)
        self.codes = CodeLookups(file, also_read=self.vascular.vascular_codes)
        self.text = TextLookups(file, reader)
        self._derived: dict[Callable[[Knowledge], object], object] = {}
        self._lock = threading.Lock()
        self.codes.warm()
        self.vascular.warm()
        self.text.warm()

    def with_expansions(
        self,
        expansions: Mapping[str, Iterable[str]],
        terms: Mapping[str, Iterable[str]] | None = None,
    ) -> Knowledge:
        """A new version whose groups also hold the given descendants of their SNOMED CT roots
        and (``terms``) their displays and synonyms as text targets. With the same targets it
        shares this version's ConText reader; with new ones, it builds its own, as bounded."""
        data = self.file.model_dump()
        data["snomed_expansions"] = {root: sorted(set(codes)) for root, codes in expansions.items()}
        data["snomed_terms"] = {root: sorted(set(words)) for root, words in (terms or {}).items()}
        file = KnowledgeFile.model_validate(data)
        targets = group_synonym_targets(
            file.exclusions, file.snomed_terms, self.text.generated_targets
        )
        if targets == self.text.synonym_targets:
            return Knowledge(file, self.text.text_reader)
        fresh = Knowledge(file)
        fresh.text.text_reader.limit_cache(self.text.text_reader.cache_limit)
        return fresh

    def derived(self, build: Callable[[Knowledge], T]) -> T:
        """``build(self)``, built once per version and kept with it: what a later stage derives
        from the knowledge (the relevance pass's memo tables, say) starts afresh with a new
        version, and the knowledge need not know its type."""
        known = self._derived.get(build)
        if known is None:
            with self._lock:
                known = self._derived.get(build)
                if known is None:
                    known = self._derived[build] = build(self)
        return cast(T, known)
