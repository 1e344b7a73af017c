"""Where the record shows a finding, as data: the rules decide, the advice says it.

Each value names what the rules found (a Condition, the order's reason, a reading, a prior
study); advice/evidence_text.py renders it with the knowledge file's texts. The types are
plain data: nothing here is a sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cds_service.clinical.units import Temperature
from cds_service.record.facts import ConditionFact


@dataclass(frozen=True)
class ConditionShown:
    """A Condition of the record (its code, name, status and date)."""

    condition: ConditionFact
    note: str | None = None
    """The Condition's note that names the finding, when its code and name do not."""


@dataclass(frozen=True)
class OrderReason:
    """The order's reason names the finding: its texts, then its codes."""

    names: tuple[str, ...]
    codes: tuple[str, ...]


@dataclass(frozen=True)
class OrderReasonList:
    """The order's reason names the finding: its codes, then its texts, listed as they are."""

    codes: tuple[str, ...]
    texts: tuple[str, ...]


@dataclass(frozen=True)
class OrderNote:
    """A note on the order names the finding."""

    note: str


@dataclass(frozen=True)
class ObservationShown:
    """An Observation coded with the finding (``code``), or whose value or name says it."""

    code: str | None
    text: str
    """The value's text or the name that says the finding ("" when only its code does)."""
    date: str | None
    """As recorded (``2026-11``, ``2026``, ``2026-11-20``); None: no date (it counts)."""


@dataclass(frozen=True)
class NotAdult:
    """The patient's age in full years: the youngest and oldest a partial birth date allows
    (the same for a full date; negative when the birth date is in the future)."""

    youngest: int
    oldest: int


@dataclass(frozen=True)
class PriorStudy:
    """A cervical-spine study already in the record: the table's name of it, else its own."""

    name: str
    resource_type: str
    date: str | None
    """As recorded (``2026-11``, ``2026``, ``2026-11-20``); None: no date (it counts)."""


@dataclass(frozen=True)
class TemperatureReading:
    """A body temperature at or over the rule's threshold."""

    label: str
    value: float
    unit: str | None
    """The unit as recorded (None or blank: none given)."""
    reading: Temperature
    date: str | None
    """As recorded (``2026-11``, ``2026``, ``2026-11-20``); None: the reading's time is absent
    or cannot be read (it counts, failing safe)."""


@dataclass(frozen=True)
class Weighed:
    """A body weight, in kilograms."""

    at: datetime | None
    """None: the reading's time is absent or cannot be read (it may be from any time in the
    rule's window, failing safe)."""
    kg: float
    value: float
    """As recorded, in its own unit."""
    assumed: str | None
    """The unit a weight recorded without one is read in."""
    until: datetime | None = None
    """A partial date's last instant (``at`` is its first): the weight may have been taken at
    any time in that span (and the window), failing safe."""


@dataclass(frozen=True)
class WeightLoss:
    """A loss of at least the rule's share of body weight, from the heaviest to the latest
    (when either is undated, one placement of it within the window that gives the loss)."""

    label: str
    loss: float
    """Percent of the heaviest weight."""
    heaviest: Weighed
    latest: Weighed


@dataclass(frozen=True)
class OtherRegions:
    """The order's codes that name another body region."""

    codes: tuple[str, ...]


@dataclass(frozen=True)
class TemperatureFlagged:
    """A body temperature flagged high with no value (a fever, failing safe)."""

    label: str
    date: str | None
    """As recorded (``2026-11``, ``2026``, ``2026-11-20``); None: no date (it counts)."""


Evidence = (
    ConditionShown
    | OrderReason
    | OrderReasonList
    | OrderNote
    | ObservationShown
    | NotAdult
    | PriorStudy
    | TemperatureReading
    | TemperatureFlagged
    | WeightLoss
    | OtherRegions
)
