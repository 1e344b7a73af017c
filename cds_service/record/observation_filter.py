"""Which Observations one hook call keeps: a finding of an exclusion group whatever its date,
and a vital sign a rule reads only when dated inside that rule's window.

An Observation coded as a finding of an exclusion group (its code or coded value) is kept
whatever its date; a vital sign a rule reads (by LOINC code) is kept only when its date
(``effective[x]``, else ``issued``) falls inside the longest window of the rules that read its
code, with two days' margin for time zones. One with no date, or a date this test does not read
(a partial date, a malformed one), is kept: the models and the rules judge it; so is one whose
date, outside the window as written, is no date the rules read ("2026-11-31"): to the rules it
is undated, and an undated reading counts (failing safe). No rule reads a baseline before its
window (the weight-loss rule compares readings inside its own); a rule of a kind not listed here
keeps every reading of its codes. The codes' answers are memoised on the
:class:`~cds_service.record.relevance.Relevance` of the knowledge.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from msgspec import Raw

from cds_service.clinical.codes import NO_SYSTEM
from cds_service.record.fhir_time import parse_datetime
from cds_service.record.observation_reading import observation_time, reading_unit, says_temperature
from cds_service.record.readers import as_dict, as_list
from cds_service.record.relevance import EVERY_READING, FINDING, NOT_READ, Relevance

WINDOW_MARGIN_DAYS = 2
"""A date is compared as written (its calendar day), so time zones and the clinic's calendar
could move it by a day: a reading is dropped only when it is two days outside a window."""
FUTURE_DAYS = 1
"""The rules read readings dated up to a day ahead (clock skew); see criteria.py."""


class ObservationFilter:
    """Which Observations one hook call keeps: the findings, and the vital signs dated inside
    the windows (around ``now``; every one when ``now`` is None) of the rules that read them."""

    def __init__(self, relevance: Relevance, now: datetime | None) -> None:
        self.relevance = relevance
        self.now = now
        self._bounds: dict[int, tuple[str, str]] = {}
        self._memo = relevance.observation_codes

    def _window(self, days: int) -> tuple[str, str]:
        bounds = self._bounds.get(days)
        if bounds is None:
            assert self.now is not None
            low = self.now - timedelta(days=days + WINDOW_MARGIN_DAYS)
            high = self.now + timedelta(days=FUTURE_DAYS + WINDOW_MARGIN_DAYS)
            bounds = self._bounds[days] = (low.date().isoformat(), high.date().isoformat())
        return bounds

    def in_window(self, resource: Mapping[str, Any], days: int) -> bool:
        """False only for a reading whose date, as written, is clearly outside the window
        (another year: any date that starts with four digits; else a full calendar date) and
        is a date the rules read (any other is undated to them, and counts)."""
        if self.now is None:
            return True
        when = resource.get("effectiveDateTime") or observation_time(resource)
        if not isinstance(when, str):
            return True  # no date: the models and the rules judge it
        low, high = self._bounds.get(days) or self._window(days)
        year = when[:4]
        if (year < low[:4] or year > high[:4]) and len(year) == 4 and year.isdigit():
            return parse_datetime(when) is None  # "2019-13-40": undated to the rules
        full_date = (
            len(when) >= 10
            and when[4] == when[7] == "-"
            and year.isdigit()
            and when[5:7].isdigit()
            and when[8:10].isdigit()
        )
        return not full_date or low <= when[:10] <= high or parse_datetime(when) is None

    def keeps(self, resource: Mapping[str, Any]) -> bool:
        """A finding of an exclusion group (code, coded value or text value), or a reading a
        rule reads (itself or a component of a panel) dated inside its window."""
        days = self._part_days(resource)
        if days in (FINDING, EVERY_READING):
            return True
        if "component" in resource:
            for component in as_list(resource["component"]):
                found = self._part_days(as_dict(component))
                if found in (FINDING, EVERY_READING):
                    return True
                days = max(days, found)
        return days > 0 and self.in_window(resource, days)

    def _part_days(self, part: Mapping[str, Any]) -> int:
        """What the rules make of an Observation, or of one component (each is a reading of
        its own): ``FINDING``, ``EVERY_READING``, a window in days, or ``NOT_READ``."""
        relevance = self.relevance
        days = self._days(part.get("code"))
        if days in (FINDING, EVERY_READING):
            return days
        value = part.get("valueCodeableConcept")
        if value is not None and relevance.names_a_finding(value):
            return FINDING
        text = part.get("valueString")
        if isinstance(text, str) and text and relevance.text(text):
            return FINDING
        if days < relevance.temperature_days and says_temperature(reading_unit(part)):
            return relevance.temperature_days  # a temperature by its unit (``reads``)
        return days

    def _days(self, concept: object) -> int:
        """What the rules make of an Observation code: ``FINDING``, ``EVERY_READING``, the
        widest window in days, or ``NOT_READ``. A code still raw is memoised by its text; one
        not in its proper shape is read leniently (observation_reading.py)."""
        if isinstance(concept, Raw):
            return self.relevance.by_text(self.relevance.raw_days, concept, self._days)
        if concept is None:
            return NOT_READ
        if not isinstance(concept, dict):
            return self.relevance.lenient_days(concept)
        coding = concept.get("coding", ())
        if not isinstance(coding, list | tuple) or "code" in concept:
            return self.relevance.lenient_days(concept)
        days, coded, memo = NOT_READ, False, self._memo
        for item in coding:
            code = item.get("code") if isinstance(item, dict) else None
            if not isinstance(code, str) or not isinstance(item.get("system", ""), str):
                return self.relevance.lenient_days(concept)  # a numeric code, say
            if not code:
                continue
            coded = True
            system = item.get("system") or NO_SYSTEM
            table = memo.get(system)
            found = table.get(code) if table is not None else None
            if found is None:
                found = self.relevance.observation_class(system, code)
            if found <= EVERY_READING and found != NOT_READ:  # a finding, or all
                return found
            if found > days:
                days = found
        if not coded or not isinstance(concept.get("text", ""), str):
            return self.relevance.lenient_days(concept)  # its texts are read
        return days
