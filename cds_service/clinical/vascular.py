"""What the knowledge file says of recorded vascular findings, compiled (``vascular_findings``).

An MRA or CTA of the neck ordered for a patient whose record names a cervical artery
dissection or stenosis asks about that finding, which this variant does not address: the
appraisal does not rate it (appraisal/vascular.py). A text names it as ConText reads it: a
denied or a relative's finding does not count, a suspected one does (vascular_reading.py). A
component of the compiled knowledge
(compiled_knowledge.py), built once per knowledge file.
"""

from __future__ import annotations

import re
from functools import cached_property

from cds_service.clinical.assertions import TextReader
from cds_service.clinical.code_lookups import code_set
from cds_service.clinical.codes import CodeSet
from cds_service.clinical.knowledge_schema import KnowledgeFile
from cds_service.clinical.text_lookups import context_rules_of
from cds_service.clinical.vascular_reading import ORDER, RECORD, vascular_reader


class VascularLookups:
    """The vascular-finding look-ups of a knowledge file (each built once, on first use or by
    ``warm``)."""

    def __init__(self, file: KnowledgeFile) -> None:
        self.file = file

    def warm(self) -> None:
        """Build every look-up now, so that nothing about the file can fail at request time."""
        _ = (self.vascular_procedures, self.vascular_codes, self.vascular_words)
        self.vascular_reader.warm()

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

    @cached_property
    def vascular_reader(self) -> TextReader:
        """ConText over the finding's words (vascular_reading.py)."""
        found = self.file.vascular_findings
        patterns = found.patterns if found is not None else []
        order_patterns = found.order_patterns if found is not None else []
        return vascular_reader(patterns, order_patterns, context_rules_of(self.file))

    def names_vascular_finding(self, text: str) -> bool:
        """The text names a cervical artery dissection or stenosis, affirmed, suspected or
        past (not denied, hypothetical or a relative's)."""
        found = self.file.vascular_findings
        return found is not None and RECORD in self.vascular_reader.affirmed(text)

    def order_names_vascular_finding(self, text: str) -> bool:
        """The same, in a vascular study's own reason or note, where "dissection" alone names
        an artery's ("rule out dissection")."""
        if self.file.vascular_findings is None:
            return False
        return bool(self.vascular_reader.affirmed(text) & {RECORD, ORDER})
