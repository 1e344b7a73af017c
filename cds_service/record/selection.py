"""Selecting: the one pass over each prefetch value (or FHIR server answer), on the raw JSON.

A realistic record is mostly what no rule reads: Conditions with other codes, and years of body
temperatures and weights of which only the readings inside a rule's look-back window can
matter. :meth:`Selector.scan` walks a value once and, in the same walk:

- checks the container, the one place that does (:func:`value_fault` and the entry checks of
  the loop): a value that is not the resource its template asks for, an OperationOutcome, a
  Bundle whose ``entry`` is not a list, an entry that holds no resource, a searchset carrying an
  error OperationOutcome. Its answer is the value's ``fault``: the prefetch rules
  (prefetch.py) then fetch the key, never read it as "no data";
- counts the Conditions and Observations, and keeps only the resources a rule can read: the
  Conditions and Observations the relevance tests keep (relevance.py, observation_filter.py),
  the Patients, and the prior cervical-spine studies (prior_studies.py), with how each matched.

A value still raw (raw_json.py) is walked on its resources' heads (the members these tests
read), and only the resources kept are decoded whole; a decoded value (the FHIR server's
answer, a test's dict) is walked as it is. What it keeps, a :class:`Scanned`, is what the reader
(record_reader.py) validates and reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cds_service.record.fhir_client import links_readable
from cds_service.record.observation_filter import ObservationFilter
from cds_service.record.prior_studies import PRIOR_STUDY_TYPES, StudyMatch, study_match
from cds_service.record.raw_json import Entries, RawJson
from cds_service.record.readers import MALFORMED_CONTENT, as_dict, as_list
from cds_service.record.relevance import Relevance

OPERATION_OUTCOME = "an OperationOutcome"
ENTRY_NOT_A_LIST = "a Bundle whose entry is not a list"
ENTRY_WITHOUT_RESOURCE = "a Bundle with an entry that holds no resource"
LINK_UNREADABLE = "a Bundle whose links cannot be read"


@dataclass
class Scanned:
    """One prefetch value after the pass: why it cannot be used (then nothing else counts), or
    the resources a rule can read and how many Conditions and Observations it held."""

    fault: str | None = None
    kept: list[dict[str, Any]] = field(default_factory=list)
    """Conditions, Observations and Patients, and any resource a test could not judge."""
    studies: list[tuple[dict[str, Any], StudyMatch]] = field(default_factory=list)
    """The prior cervical-spine studies, and how each was recognised."""
    conditions: int = 0
    observations: int = 0
    bundle: bool = False
    resources: int = 0
    """Resources the value held (a searchset's OperationOutcome entries not counted)."""
    skipped: int = 0
    """Of those kept, how many the R4 models rejected (set when the record is read)."""

    def extended(self, more: Scanned) -> Scanned:
        """A paged Bundle with its remaining pages."""
        return Scanned(
            None,
            self.kept + more.kept,
            self.studies + more.studies,
            self.conditions + more.conditions,
            self.observations + more.observations,
            bundle=True,
            resources=self.resources + more.resources,
        )


def value_fault(value: object, expected: str) -> str | None:
    """Why a value is not a usable ``expected`` resource (``Bundle`` for a search, else the
    type read), its entries aside (the pass checks them as it walks), or None. ``null`` is not
    judged here: it means "no data" and is handled before (prefetch.py)."""
    if isinstance(value, list):
        return "a JSON array, not a FHIR resource"
    if not isinstance(value, dict):
        kind = {bool: "boolean", int: "number", float: "number", str: "string"}.get(type(value))
        return f"a JSON {kind or 'value'}, not a FHIR resource"
    kind = value.get("resourceType")
    if kind == "OperationOutcome":
        return OPERATION_OUTCOME
    if not isinstance(kind, str) or not kind:
        return "an object without resourceType"
    if kind != expected:
        return f"a {kind}, not a {expected}"
    if kind == "Bundle" and not isinstance(value.get("entry", []), list):
        return ENTRY_NOT_A_LIST
    if kind == "Bundle" and not links_readable(value.get("link")):
        return LINK_UNREADABLE
    return None


class Selector:
    """The pass of one hook call: its knowledge's memoised tests, and its windows around
    ``now`` (no window at all when ``now`` is None)."""

    def __init__(self, relevance: Relevance, now: datetime | None) -> None:
        self.knowledge = relevance.knowledge
        self.relevance = relevance
        self.observation = ObservationFilter(relevance, now).keeps

    def scan(self, value: object, expected: str) -> Scanned:
        """One pass over a value whose template asks for ``expected`` (a ``Bundle``, or a
        resource type): its container checked, what a rule can read kept."""
        if isinstance(value, RawJson):
            frame = value.frame() if expected == "Bundle" else None
            if frame is not None and not links_readable(frame.link):
                return Scanned(LINK_UNREADABLE)
            if frame is not None:  # a Bundle of entry objects: walked on the heads
                return self._scan_bundle(Entries.of_frame(frame))
            value = value.value()  # anything else is decoded whole
        fault = value_fault(value, expected)
        if fault is not None:
            return Scanned(fault)
        assert isinstance(value, dict)  # value_fault said so
        if expected == "Bundle":
            return self._scan_bundle(Entries.of_list(value.get("entry", [])))
        scanned = Scanned(resources=1)
        self._take(value, expected, scanned)
        return scanned

    def _scan_bundle(self, entries: Entries) -> Scanned:
        scanned, broken, failed = self._scan_entries(entries)
        if failed:  # the EHR failed part of the search
            return Scanned(OPERATION_OUTCOME)
        if broken:
            return Scanned(ENTRY_WITHOUT_RESOURCE)
        return scanned

    def _scan_entries(self, entries: Entries) -> tuple[Scanned, bool, bool]:
        """The hot loop over a Bundle's entries: what it keeps (each resource whole), and
        whether an entry held no resource (broken) or an error OperationOutcome (failed)."""
        scanned = Scanned(bundle=True)
        broken = failed = False
        kept, whole = scanned.kept, entries.whole
        conditions = observations = outcomes = 0
        condition, observation = self.relevance.condition, self.observation
        for index, resource in enumerate(entries.heads):
            if not isinstance(resource, dict):
                broken = True
                continue
            kind = resource.get("resourceType")
            try:
                if kind == "Observation":
                    observations += 1
                    if observation(resource):
                        kept.append(whole(index, resource))
                    continue
                if kind == "Condition":
                    conditions += 1
                    if condition(resource):
                        kept.append(whole(index, resource))
                    continue
            except MALFORMED_CONTENT:  # the readers decide what to make of it (failing safe)
                kept.append(whole(index, resource))
                continue
            if not isinstance(kind, str):
                broken = True
            elif kind == "OperationOutcome":
                outcomes += 1
                failed = failed or is_failure(whole(index, resource))
            else:
                self._take(whole(index, resource), kind, scanned)
        scanned.conditions += conditions
        scanned.observations += observations
        scanned.resources = len(entries.heads) - outcomes
        return scanned, broken, failed

    def _take(self, resource: dict[str, Any], kind: str, scanned: Scanned) -> None:
        try:
            if kind in PRIOR_STUDY_TYPES:
                match = study_match(resource, self.knowledge)
                if match is not None:
                    scanned.studies.append((resource, match))
                return
            if kind == "Condition":
                scanned.conditions += 1
                keep = self.relevance.condition(resource)
            elif kind == "Observation":
                scanned.observations += 1
                keep = self.observation(resource)
            else:
                keep = kind == "Patient"
        except MALFORMED_CONTENT:  # the readers decide what to make of it (failing safe)
            keep = True
        if keep:
            scanned.kept.append(resource)


def is_failure(outcome: Mapping[str, Any]) -> bool:
    """An OperationOutcome with an error or fatal issue."""
    return any(
        as_dict(i).get("severity") in ("error", "fatal") for i in as_list(outcome.get("issue"))
    )
