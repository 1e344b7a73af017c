"""The patient record of one hook call: prefetch first, then the FHIR server for what is missing.

Per CDS Hooks 2.0, for each prefetch key: data is used; ``null`` means "no data" (not fetched);
a missing key, or one holding an OperationOutcome, is fetched from ``fhirServer``; when it
cannot be fetched the call is answered 412 naming the key and the reason.

Fast path: the record is read from the raw JSON, and only resources the rules need (by code)
are validated with the R4B models, so irrelevant resources cost little more than decoding.
A resource the models reject is logged and counted; it may still put the patient outside the
variant (failing safe), but never supplies the indication.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from cds_service.codes import CodeSet
from cds_service.errors import MissingData
from cds_service.facts import ConditionFact, ObservationFact, PatientRecord
from cds_service.fhir_client import FhirFetchError, next_link
from cds_service.fhir_read import (
    Skipped,
    as_dict,
    as_list,
    as_str,
    codings,
    is_valid,
    local_reference,
    names,
    read_condition,
    read_observation,
)
from cds_service.fhir_time import latest_date
from cds_service.knowledge import Knowledge

Fetcher = Callable[[Mapping[str, str]], Mapping[str, "dict[str, Any] | FhirFetchError"]]
"""Reads ``{key: query or next-page URL}`` from the FHIR server: per key, JSON or the error."""

_MISSING = object()
FETCH_PAGE_SIZE = 200
DECISION_CACHE_LIMIT = 20_000
_TOKEN = re.compile(r"\{\{\s*([A-Za-z.]+)\s*\}\}")


@dataclass(frozen=True)
class Gathered:
    record: PatientRecord
    skipped: Skipped
    fetched: tuple[str, ...]


def refuse(reason: str) -> Fetcher:
    """A fetcher for a call whose data cannot be fetched at all, saying why."""

    def fetch(queries: Mapping[str, str]) -> dict[str, dict[str, Any] | FhirFetchError]:
        return {key: FhirFetchError(reason) for key in queries}

    return fetch


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


def gather(
    prefetch: Mapping[str, Any] | None,
    templates: Mapping[str, str],
    context: Mapping[str, Any],
    knowledge: Knowledge,
    fetch: Fetcher,
) -> Gathered:
    """Assemble the record from the prefetch and, for what it lacks, from ``fetch``."""
    given = prefetch or {}
    values: dict[str, Any] = {}
    wanted: dict[str, str] = {}
    why: dict[str, str] = {}
    for key, template in templates.items():
        value = given.get(key, _MISSING)
        if value is _MISSING:
            wanted[key], why[key] = fetch_query(template, context), "missing"
        elif is_operation_outcome(value):
            wanted[key], why[key] = fetch_query(template, context), "an OperationOutcome"
        else:
            values[key] = value
            more = next_link(value) if isinstance(value, dict) else None
            if more:
                wanted[key], why[key] = more, "paged"
    if wanted:
        results = fetch(wanted)
        failed = [k for k in wanted if not isinstance(results.get(k), dict)]
        if failed:
            raise MissingData(
                "; ".join(
                    f"prefetch key '{k}' is {why[k]} and could not be fetched: "
                    + reason_of(results, k)
                    for k in failed
                ),
                expression=[f"prefetch.{k}" for k in failed],
            )
        for key in wanted:
            values[key] = merge(values.get(key), results[key])
    skipped = Skipped()
    record = read_record(values.values(), context, knowledge, skipped)
    return Gathered(record, skipped, tuple(wanted))


def reason_of(results: Mapping[str, Any], key: str) -> str:
    error = results.get(key)
    return error.reason if isinstance(error, FhirFetchError) else "no answer"


def merge(prefetched: Any, fetched: Any) -> Any:
    """A paged prefetch Bundle with its fetched remaining pages; otherwise what was fetched."""
    if as_dict(prefetched).get("resourceType") != "Bundle":
        return fetched
    entries = as_list(prefetched.get("entry")) + as_list(as_dict(fetched).get("entry"))
    return {"resourceType": "Bundle", "type": "searchset", "entry": entries}


def is_operation_outcome(value: object) -> bool:
    """An OperationOutcome in place of the data, or a Bundle carrying an error or fatal one
    (the EHR failed part of the search); a warning (search mode 'outcome') is fine."""
    value = as_dict(value)
    if value.get("resourceType") == "OperationOutcome":
        return True
    if value.get("resourceType") != "Bundle":
        return False
    return any(
        resource.get("resourceType") == "OperationOutcome"
        and any(
            as_dict(i).get("severity") in ("error", "fatal") for i in as_list(resource.get("issue"))
        )
        for resource in resources(value)
    )


def resources(value: object) -> Iterator[dict[str, Any]]:
    """The resources of a prefetch value: a resource, or a Bundle's entry resources."""
    value = as_dict(value)
    if value.get("resourceType") == "Bundle":
        for entry in as_list(value.get("entry")):
            resource = as_dict(entry).get("resource")
            if isinstance(resource, dict):
                yield resource
    elif isinstance(value.get("resourceType"), str):
        yield value


def condition_wanted(concept: object, knowledge: Knowledge, wanted: CodeSet) -> bool:
    """Does any rule read a Condition with this code? Records repeat the same few codes, so
    the answer is kept per distinct CodeableConcept, on the knowledge object (bounded)."""
    cache = knowledge.decision_cache
    try:
        key = _freeze(concept)
        known = cache.get(key)
    except TypeError:  # an unhashable oddity: decide without the cache
        key, known = None, None
    if known is not None:
        return known
    answer = any(wanted.contains(s, c) for s, c in codings(concept, knowledge.system_uris)) or (
        knowledge.condition_named_in_rules(names(concept))
    )
    if key is not None:
        if len(cache) >= DECISION_CACHE_LIMIT:
            cache.clear()
        cache[key] = answer
    return answer


def _freeze(concept: object) -> object:
    """A hashable key for the parts of a CodeableConcept that decide whether it is wanted."""
    if not isinstance(concept, dict):
        return None
    found = tuple(
        (c.get("system"), c.get("code"), c.get("display"))
        for c in concept.get("coding") or ()
        if isinstance(c, dict)
    )
    return (found, concept.get("text"))


def has_code(concept: object, codes: frozenset[str], systems: frozenset[str]) -> bool:
    """The hot path's first test, on the raw JSON: a coding with one of ``codes``."""
    if not isinstance(concept, dict):
        return False
    for coding in as_list(concept.get("coding")):
        if isinstance(coding, dict):
            code = coding.get("code")
            if isinstance(code, str) and code in codes and coding.get("system") in systems:
                return True
    return False


def about_someone_else(resource: Mapping[str, Any], patient_id: str) -> bool:
    """A Patient with another id, or a resource whose subject is another Patient: not this
    call's patient's data (an _include, or a prefetch gone wrong)."""
    if resource.get("resourceType") == "Patient":
        own = resource.get("id")
        return isinstance(own, str) and own != patient_id
    subject = as_str(as_dict(resource.get("subject")).get("reference"))
    if subject is None or subject.startswith(("urn:", "#")):
        return False
    kind, _, subject_id = local_reference(subject).partition("/")
    return kind == "Patient" and subject_id != patient_id


def read_record(
    values: Any, context: Mapping[str, Any], knowledge: Knowledge, skipped: Skipped
) -> PatientRecord:
    systems = knowledge.system_uris
    wanted_conditions = knowledge.condition_codes_of_interest
    wanted_observations = knowledge.observation_codes_of_interest
    loinc = knowledge.code_systems["loinc"].uri
    loinc_uris = frozenset(uri for uri, canonical in systems.items() if canonical == loinc)
    birth_date = None
    conditions: list[ConditionFact] = []
    observations: list[ObservationFact] = []
    patient_id = str(context.get("patientId"))
    for value in values:
        for resource in resources(value):
            kind = resource.get("resourceType")
            # the cheap code tests first: only what the rules read is checked further
            if kind == "Condition":
                if not condition_wanted(resource.get("code"), knowledge, wanted_conditions):
                    continue
                if not about_someone_else(resource, patient_id):
                    # a rejected one still excludes, failing safe; see ConditionFact
                    valid = is_valid(resource, skipped)
                    conditions.append(read_condition(resource, systems, validated=valid))
            elif kind == "Observation":
                if not has_code(resource.get("code"), wanted_observations, loinc_uris):
                    continue
                if not about_someone_else(resource, patient_id):
                    is_valid(resource, skipped)  # logged when rejected; it can only exclude
                    observations.append(read_observation(resource, systems))
            elif (
                kind == "Patient"
                and birth_date is None
                and not about_someone_else(resource, patient_id)
                and is_valid(resource, skipped)
            ):
                birth_date = latest_date(resource.get("birthDate"))
    return PatientRecord(
        patient_id=patient_id,
        birth_date=birth_date,
        conditions=tuple(conditions),
        observations=tuple(observations),
    )
