"""What the knowledge file says of recorded vascular findings, compiled (``vascular_findings``).

An MRA or CTA of the neck ordered for a patient whose record names a cervical artery
dissection or stenosis asks about that finding, which this variant does not address: the
appraisal does not rate it (appraisal/vascular.py). A text names it as ConText reads it: a
denied or a relative's finding does not count, a suspected one does (vascular_reading.py). A
mixin of
:class:`~cds_service.clinical.knowledge.Knowledge` (whose fields it reads).
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import TYPE_CHECKING

from cds_service.clinical.assertions import ContextRule, TextReader
from cds_service.clinical.codes import CodeSet
from cds_service.clinical.vascular_reading import ORDER, RECORD, vascular_reader

if TYPE_CHECKING:
    from cds_service.clinical.knowledge import CodeLists, Procedure, VascularFindings


class VascularLookups:
    """The vascular-finding look-ups of a knowledge file (built once, cached)."""

    if TYPE_CHECKING:
        vascular_findings: VascularFindings | None
        procedures: list[Procedure]

        @property
        def context_rules(self) -> tuple[ContextRule, ...]: ...

        def code_set(self, lists: CodeLists) -> CodeSet: ...

    @cached_property
    def vascular_procedures(self) -> frozenset[str]:
        """The ids of the vascular studies; a name that is no procedure is a fault."""
        found = self.vascular_findings
        if found is None:
            return frozenset()
        known = {p.id for p in self.procedures}
        unknown = set(found.procedures) - known
        if unknown:
            raise ValueError(f"vascular_findings: unknown procedures {sorted(unknown)}")
        return frozenset(found.procedures)

    @cached_property
    def vascular_codes(self) -> CodeSet:
        """The findings' codes (ICD-10-CM with every code below them); a code without its
        system, or under an unknown one, is read in every system (failing safe)."""
        found = self.vascular_findings
        codes = self.code_set(found.codes) if found is not None else CodeSet()
        codes.any_system = found is not None
        return codes

    @cached_property
    def vascular_words(self) -> re.Pattern[str] | None:
        found = self.vascular_findings
        if found is None:
            return None
        return re.compile("|".join(f"(?:{p})" for p in found.patterns), re.IGNORECASE)

    @cached_property
    def vascular_reader(self) -> TextReader:
        """ConText over the finding's words (vascular_reading.py)."""
        found = self.vascular_findings
        patterns = found.patterns if found is not None else []
        order_patterns = found.order_patterns if found is not None else []
        return vascular_reader(patterns, order_patterns, self.context_rules)

    def names_vascular_finding(self, text: str) -> bool:
        """The text names a cervical artery dissection or stenosis, affirmed, suspected or
        past (not denied, hypothetical or a relative's)."""
        return self.vascular_findings is not None and RECORD in self.vascular_reader.affirmed(text)

    def order_names_vascular_finding(self, text: str) -> bool:
        """The same, in a vascular study's own reason or note, where "dissection" alone names
        an artery's ("rule out dissection")."""
        found = self.vascular_reader.affirmed(text) if self.vascular_findings else frozenset()
        return bool(found & {RECORD, ORDER})
