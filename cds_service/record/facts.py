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
    """Displays and texts of the order's reasonCode, read for findings named in text."""
    notes: tuple[str, ...] = ()
    """The texts of the order's notes, read for findings named in text."""
    body_sites: tuple[CodePair, ...] = ()
    """The codings of the order's bodySite."""
    code_texts: tuple[str, ...] = ()
    """The text and coding displays of the order's code (where it may name its site)."""
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
    onset_from: datetime | None = None
    """The first instant the onset can mean (``onset`` is its last), to show it as recorded."""
    recorded_from: datetime | None = None
    """The first instant the recorded date can mean (``recorded`` is its last)."""
    names: tuple[str, ...] = ()
    """Every coding display and the text of the code, read for findings named in text."""
    notes: tuple[str, ...] = ()
    """The texts of the Condition's notes, read for findings named in text."""
    validated: bool = True
    """False when the R4 models rejected the resource: it may still exclude (failing safe), but
    it never supplies the indication."""
    unreadable: bool = False
    """The ``code`` is there but neither a code nor a text of it can be read: it may be any
    finding (appraisal/exclusions.py reads it so, failing safe)."""


@dataclass(frozen=True)
class ObservationFact:
    id: str | None
    codes: tuple[CodePair, ...]
    status: str | None
    value: float | None
    unit: str | None
    effective: datetime | None
    """The first instant the reading's time can mean (``2026-11``: 2026-11-01T00:00Z)."""
    value_codes: tuple[CodePair, ...] = ()
    """The codings of valueCodeableConcept (an examination finding, say)."""
    absent: bool = False
    """The value says the coded finding is absent (valueBoolean false, a coded 'absent' or
    'negative', a text value "Denies"): the Observation denies the finding."""
    value_text: str | None = None
    """valueString: read like a Condition's text ("Fever and chills for three days")."""
    flagged_high: bool = False
    """An interpretation of high or abnormal (HL7 ``H``, ``HH``, ``A``...), with or without
    a value: a body temperature so flagged is read as a fever (failing safe)."""
    names: tuple[str, ...] = ()
    """The code's texts, read for findings when the code has no usable coding or is not in its
    proper shape (see observation_reading.py)."""
    effective_until: datetime | None = None
    """A partial date's last instant (``2026-11``: up to 2026-11-30T23:59:59Z): the reading
    may be from any time in that span. None: the time is one point (or absent)."""

    @property
    def latest(self) -> datetime | None:
        """The last instant the reading's time can mean (None: undated)."""
        return self.effective_until or self.effective


@dataclass(frozen=True)
class PriorStudyFact:
    """Imaging already in the record: a Procedure, DiagnosticReport or ImagingStudy whose codes
    name a row of the procedure table (the record keeps only those)."""

    resource_type: str
    id: str | None
    codes: tuple[CodePair, ...]
    status: str | None
    date: datetime | None
    """performed[x], effective[x] (else issued) or started, the last instant it can mean (a
    partial ``2026`` is up to 2026-12-31); None when the record has none."""
    display: str | None
    date_from: datetime | None = None
    """The first instant the date can mean, to show it as recorded."""


@dataclass(frozen=True)
class PatientRecord:
    """What the rules know of the patient. ``birth_date`` None means it is not recorded."""

    patient_id: str | None
    birth_date: date | None
    """The latest day the birth date can mean (a partial ``2008-11`` is 2008-11-30)."""
    conditions: tuple[ConditionFact, ...] = ()
    observations: tuple[ObservationFact, ...] = ()
    prior_studies: tuple[PriorStudyFact, ...] = ()
    conditions_read: int = 0
    """How many of the patient's Conditions the record held (read, whether relevant or not)."""
    earliest_birth_date: date | None = None
    """The first day a partial birth date can mean (``2008-11`` is 2008-11-01)."""
    observations_read: int = 0
    """How many of the patient's Observations the record held."""
