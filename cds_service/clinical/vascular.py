"""What the knowledge file says of recorded vascular findings, compiled (``vascular_findings``).

An MRA or CTA of the neck ordered for a patient whose record names a cervical artery
dissection or stenosis asks about that finding, which this variant does not address: the
appraisal does not rate it (appraisal/vascular.py). A component of the compiled knowledge
(compiled_knowledge.py), built once per knowledge file.
"""

from __future__ import annotations

import re
from functools import cached_property

from cds_service.clinical.code_lookups import code_set
from cds_service.clinical.codes import CodeSet
from cds_service.clinical.knowledge_schema import KnowledgeFile


class VascularLookups:
    """The vascular-finding look-ups of a knowledge file (each built once, on first use or by
    ``warm``)."""

    def __init__(self, file: KnowledgeFile) -> None:
        self.file = file

    def warm(self) -> None:
        """Build every look-up now, so that nothing about the file can fail at request time."""
        _ = (self.vascular_procedures, self.vascular_codes, self.vascular_words)

    @cached_property
    def vascular_procedures(self) -> frozenset[str]:
        """The ids of the vascular studies; a name that is no procedure is a fault."""
        found = self.file.vascular_findings
        if found is None:
            return frozenset()
        known = {p.id for p in self.file.procedures}
        unknown = set(found.procedures) - known
        if unknown:
            raise ValueError(f"vascular_findings: unknown procedures {sorted(unknown)}")
        return frozenset(found.procedures)

    @cached_property
    def vascular_codes(self) -> CodeSet:
        """The findings' codes (ICD-10-CM with every code below them); a code without its
        system, or under an unknown one, is read in every system (failing safe)."""
        found = self.file.vascular_findings
        codes = code_set(self.file.code_systems, found.codes) if found is not None else CodeSet()
        codes.any_system = found is not None
        return codes

    @cached_property
    def vascular_words(self) -> re.Pattern[str] | None:
        found = self.file.vascular_findings
        if found is None:
            return None
        return re.compile("|".join(f"(?:{p})" for p in found.patterns), re.IGNORECASE)

    def names_vascular_finding(self, text: str) -> bool:
        """The text names a cervical artery dissection or stenosis (by its words alone)."""
        words = self.vascular_words
        return words is not None and words.search(text) is not None
