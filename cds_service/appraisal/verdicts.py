"""What the appraisal of an order says: its verdict, the table row and rating, and why the
patient falls outside the variant (findings with their evidence, as data)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from cds_service.appraisal.evidence import Evidence
from cds_service.clinical.knowledge_schema import CategoryKey, Procedure, RrlKey
from cds_service.record.facts import Order


class Verdict(StrEnum):
    RATED = "rated"
    """A row of the procedure table (or an order whose possible rows all agree)."""
    UNSPECIFIED = "unspecified"
    """Contrast is not specified and the possible rows are rated differently."""
    EXCLUDED = "excluded"
    """The indication is present but the patient falls outside the variant."""
    OTHER_REGION = "other-region"
    """A cervical study ordered together with another body region: not rated as cervical."""
    VASCULAR_FINDING = "vascular-finding"
    """A vascular study (MRA, CTA of the neck) for a recorded vascular finding: not this
    variant's question (vascular.py)."""
    NOT_APPLICABLE = "not-applicable"
    """Not an order of the table, or no suspected cervicogenic headache: say nothing."""


@dataclass(frozen=True)
class Finding:
    """Why the patient falls outside the variant; ``evidence``: where the record shows it
    (None: nothing to show, an unknown age say), rendered by advice/evidence_text.py."""

    group_id: str
    label: str
    evidence: Evidence | None
    redirect: str
    escalate: bool = False


@dataclass(frozen=True)
class Indication:
    """Where the suspected cervicogenic headache came from: the order's reason or the
    problem list, and the code (with its display when the record gives one)."""

    source: Literal["order", "problem-list"]
    code: str
    display: str | None = None


@dataclass(frozen=True)
class Checked:
    """What the appraisal read before finding nothing that excludes the patient."""

    conditions: int
    observations: int


@dataclass(frozen=True)
class Appraisal:
    order: Order
    verdict: Verdict
    procedure: Procedure | None = None
    category: CategoryKey | None = None
    rrl: RrlKey | None = None
    findings: tuple[Finding, ...] = ()
    indication: Indication | None = None
    checked: Checked | None = None

    @property
    def escalate(self) -> bool:
        return any(f.escalate for f in self.findings)
