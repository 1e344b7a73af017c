"""Plain, immutable facts the clinical rules read. No FHIR models, no HTTP, no clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

CodePair = tuple[str, str]
"""(canonical system URI, code)."""


@dataclass(frozen=True)
class Order:
    """One draft imaging (or other) order, as the rules see it."""

    resource_type: str
    id: str | None
    codes: tuple[CodePair, ...]
    reason_codes: tuple[CodePair, ...] = ()
    reason_references: tuple[str, ...] = ()
    reason_names: tuple[str, ...] = ()
    """Displays and texts of the order's reasonCode, for display-term rules."""
    contained: dict[str, tuple[CodePair, ...]] = field(default_factory=dict, compare=False)
    """``#id`` of each contained resource to its codes, for reasonReference."""
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def reference(self) -> str | None:
        return f"{self.resource_type}/{self.id}" if self.id else None


@dataclass(frozen=True)
class ConditionFact:
    id: str | None
    codes: tuple[CodePair, ...]
    display: str | None
    clinical_status: str | None
    verification_status: str | None
    onset: datetime | None = None
    recorded: datetime | None = None
    abatement: datetime | None = None
    names: tuple[str, ...] = ()
    """Every coding display and the text of the code, for display-term rules."""
    validated: bool = True
    """False when the R4 models rejected the resource: it may still exclude (failing safe), but
    it never supplies the indication."""


@dataclass(frozen=True)
class ObservationFact:
    id: str | None
    codes: tuple[CodePair, ...]
    status: str | None
    value: float | None
    unit: str | None
    effective: datetime | None


@dataclass(frozen=True)
class PatientRecord:
    """What the rules know of the patient. ``birth_date`` None means it is not recorded."""

    patient_id: str | None
    birth_date: date | None
    conditions: tuple[ConditionFact, ...] = ()
    observations: tuple[ObservationFact, ...] = ()
