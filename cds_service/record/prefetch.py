"""Augmenting the prefetch: the CDS Hooks 2.0 prefetch rules, and the record of one hook call.

The record of a call is made in three stages, one type between each:

1. augmenting (this module): for each prefetch key, per CDS Hooks 2.0, data is used; ``null``
   means "no data" (not fetched); a missing key, or one whose value is unusable (an
   OperationOutcome, a container the selection's check refuses), is fetched from
   ``fhirServer``, and so are a searchset's further pages. When a key cannot be had the call
   is answered 412 naming the keys once and what to send instead.
2. selecting (selection.py): one pass over each value checks its container and keeps only the
   resources a rule can read, as a :class:`~cds_service.record.selection.Scanned`.
3. reading (record_reader.py): what was kept, validated and read into the
   :class:`~cds_service.record.facts.PatientRecord`.

Fast path: values are read from the raw JSON, and only the resources kept are decoded whole
and validated, so irrelevant resources cost little more than decoding.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from cds_service.errors import FhirFetchError, MissingData
from cds_service.record.facts import PatientRecord
from cds_service.record.fhir_client import next_link
from cds_service.record.prefetch_trace import PrefetchTrace, Sent
from cds_service.record.raw_json import RawJson
from cds_service.record.readers import Skipped
from cds_service.record.record_reader import read_selected
from cds_service.record.relevance import Relevance
from cds_service.record.selection import Scanned, Selector

Fetcher = Callable[[Mapping[str, str]], Mapping[str, "dict[str, Any] | FhirFetchError"]]
"""Reads ``{key: query or next-page URL}`` from the FHIR server: per key, JSON or the error."""

_MISSING = object()
FETCH_PAGE_SIZE = 200
_TOKEN = re.compile(r"\{\{\s*([A-Za-z.]+)\s*\}\}")
SEND_INSTEAD = (
    "Send {them} in the prefetch, or send fhirServer (a FHIR server on this service's "
    "CDS_FHIR_ALLOWLIST) with an access token in fhirAuthorization."
)
"""What a client whose call has no usable FHIR server should send instead."""
_WHY = {"paged": "a searchset with more pages"}


@dataclass(frozen=True)
class Gathered:
    record: PatientRecord
    skipped: Skipped
    fetched: tuple[str, ...]


class FetchRefused(FhirFetchError):
    """Nothing was fetched: the call has no usable FHIR server (none, not on the allowlist,
    no token), and the reason says which."""


def refuse(reason: str) -> Fetcher:
    """A fetcher for a call whose data cannot be fetched at all, saying why."""

    def fetch(queries: Mapping[str, str]) -> dict[str, dict[str, Any] | FhirFetchError]:
        return {key: FetchRefused(reason) for key in queries}

    return fetch


def assemble_record(
    prefetch: Mapping[str, Any] | None,
    templates: Mapping[str, str],
    context: Mapping[str, Any],
    relevance: Relevance,
    fetch: Fetcher,
    now: datetime | None = None,
    trace: PrefetchTrace | None = None,
) -> Gathered:
    """The record from the prefetch and, for what it lacks, from ``fetch``: each value is
    walked once by the selection, with ``relevance`` (the knowledge's memoised tests); with
    ``now``, vital signs outside every rule's window are left out unread. ``trace`` is told
    what became of each key as it goes (even when the call ends in 412)."""
    trace = trace if trace is not None else PrefetchTrace()
    selector = Selector(relevance, now)
    scans, wanted = scan_prefetch(prefetch or {}, templates, context, selector, trace)
    if wanted:
        answers = fetch_wanted(wanted, templates, selector, fetch, trace)
        for key in wanted:  # a paged Bundle with its remaining pages; else what was fetched
            earlier = scans.get(key)
            paged = earlier is not None and earlier.bundle
            scans[key] = earlier.extended(answers[key]) if paged else answers[key]  # type: ignore[union-attr]
    skipped = Skipped()
    patient_id = str(context.get("patientId"))
    record = read_selected(scans.values(), patient_id, relevance.knowledge, skipped)
    for key, scanned in scans.items():
        trace.counted(key, scanned.resources, len(scanned.kept), scanned.skipped)
    return Gathered(record, skipped, tuple(wanted))


def render(template: str, context: Mapping[str, Any]) -> str:
    """Fill ``{{context.x}}`` tokens; ``{{userPractitionerId}}`` and kin come from userId."""

    def value(match: re.Match[str]) -> str:
        token = match.group(1)
        if token.startswith("context."):
            found = context.get(token.removeprefix("context."))
        else:
            user = str(context.get("userId", ""))
            kind = token.removeprefix("user").removesuffix("Id")
            found = user.split("/", 1)[1] if user.startswith(kind + "/") else None
        if not isinstance(found, str | int) or isinstance(found, bool):
            raise MissingData(f"prefetch token {{{{{token}}}}} has no value in this call")
        return quote(str(found), safe="")  # an id never escapes its place in the URL

    return _TOKEN.sub(value, template)


def fetch_query(template: str, context: Mapping[str, Any]) -> str:
    """The rendered template, asking for large pages when it is a search."""
    query = render(template, context)
    if "?" in query and "_count=" not in query:
        query += f"&_count={FETCH_PAGE_SIZE}"
    return query


@dataclass(frozen=True)
class Wanted:
    """A prefetch key to fetch: the query, and why (missing, unusable, paged)."""

    query: str
    why: str


def scan_prefetch(
    given: Mapping[str, Any],
    templates: Mapping[str, str],
    context: Mapping[str, Any],
    selector: Selector,
    trace: PrefetchTrace | None = None,
) -> tuple[dict[str, Scanned], dict[str, Wanted]]:
    """The prefetch values scanned, and the keys to fetch: missing, unusable (not "no data":
    fetched, else 412) or paged."""
    trace = trace if trace is not None else PrefetchTrace()
    scans: dict[str, Scanned] = {}
    wanted: dict[str, Wanted] = {}
    for key, template in templates.items():
        value = given.get(key, _MISSING)
        if value is None:  # "no data"
            trace.sent(key, Sent.NULL)
            continue
        if value is _MISSING:
            trace.sent(key, Sent.MISSING)
            wanted[key] = Wanted(fetch_query(template, context), "missing")
            continue
        scanned = selector.scan(value, expected_type(template))
        if scanned.fault:
            trace.sent(key, Sent.UNUSABLE, scanned.fault)
            wanted[key] = Wanted(fetch_query(template, context), scanned.fault)
            continue
        trace.sent(key, Sent.FILLED)
        scans[key] = scanned
        links = value.links() if isinstance(value, RawJson) else value
        more = next_link(links) if isinstance(links, dict) else None
        if more:
            wanted[key] = Wanted(more, "paged")
    return scans, wanted


def fetch_wanted(
    wanted: Mapping[str, Wanted],
    templates: Mapping[str, str],
    selector: Selector,
    fetch: Fetcher,
    trace: PrefetchTrace | None = None,
) -> dict[str, Scanned]:
    """The FHIR server's answers, with the same checks as for the prefetch (never "no data"
    by mistake); MissingData naming every key that could not be had."""
    trace = trace if trace is not None else PrefetchTrace()
    results = fetch({key: w.query for key, w in wanted.items()})
    answers: dict[str, Scanned] = {}
    faults: dict[str, str] = {}
    refused = False
    for key in wanted:
        answer = results.get(key)
        refused = refused or isinstance(answer, FetchRefused)
        if isinstance(answer, FhirFetchError):
            faults[key] = answer.reason
            trace.failed(key, answer.reason, answer.status)
        elif not isinstance(answer, dict):
            faults[key] = "no answer"
            trace.failed(key, faults[key])
        else:
            answers[key] = selector.scan(answer, expected_type(templates[key]))
            if answers[key].fault:
                faults[key] = f"the FHIR server's answer is {answers[key].fault}"
                trace.failed(key, faults[key])
            else:
                trace.fetched(key, paged=wanted[key].why == "paged")
    if faults:
        raise unfetchable(wanted, faults, refused)
    return answers


def unfetchable(
    wanted: Mapping[str, Wanted], faults: Mapping[str, str], refused: bool
) -> MissingData:
    """The 412 of keys that could not be had: each key named once, with why it was wanted,
    each reason once, and what to send instead."""
    by_fault: dict[str, list[str]] = {}
    for key, fault in faults.items():
        by_fault.setdefault(fault, []).append(key)
    sentences = [
        f"{described(keys, wanted)}; {'it' if len(keys) == 1 else 'they'} could not be "
        f"fetched: {fault}."
        for fault, keys in by_fault.items()
    ]
    sentences[1:] = [sentence[0].upper() + sentence[1:] for sentence in sentences[1:]]
    them = "it" if len(faults) == 1 else "them"
    advice = SEND_INSTEAD if refused else "Send {them} in the prefetch."
    return MissingData(
        " ".join([*sentences, advice.format(them=them)]),
        expression=[f"prefetch.{key}" for key in faults],
    )


def described(keys: list[str], wanted: Mapping[str, Wanted]) -> str:
    """``prefetch keys 'a' and 'b' are missing, and prefetch key 'c' is an OperationOutcome``."""
    by_why: dict[str, list[str]] = {}
    for key in keys:
        by_why.setdefault(_WHY.get(wanted[key].why, wanted[key].why), []).append(key)
    return ", and ".join(
        f"prefetch key{'s' if len(named) > 1 else ''} {quoted(named)} "
        f"{'are' if len(named) > 1 else 'is'} {why}"
        for why, named in by_why.items()
    )


def quoted(keys: list[str]) -> str:
    """``'a'``, ``'a' and 'b'``, ``'a', 'b' and 'c'``."""
    names = [f"'{key}'" for key in keys]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def expected_type(template: str) -> str:
    """What a prefetch template asks for: a searchset ``Bundle``, or the resource type read."""
    if "?" in template:
        return "Bundle"
    return template.lstrip("/").split("/", 1)[0]
