"""The layered decode (raw_json.py): every request reads the same as when decoded whole.

The scan on raw JSON must keep exactly what the scan on the decoded body keeps (the same
resources, whole, the same counts and faults), for every hook request in the fixtures and for
generated Bundles of any shape; and what msgspec does not judge as orjson and the standard
library do (NaN, lone surrogates, invalid UTF-8, numbers out of range, depth) takes the old
path, with the old answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import msgspec
import orjson
import pytest
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st
from support.builders import LOINC, UCUM, coded, condition, observation
from support.clock import NOW

from cds_service.clinical.knowledge_loader import load_knowledge
from cds_service.record.prefetch import expected_type
from cds_service.record.raw_json import HEAD_MEMBERS, RawJson, decode_request, loads_json
from cds_service.record.relevance import Relevance
from cds_service.record.selection import Scanned, Selector
from cds_service.record.templates import prefetch_templates

KNOWLEDGE = load_knowledge()
TEMPLATES = prefetch_templates(KNOWLEDGE)
FIXTURES = Path(__file__).resolve().parent.parent / "fhir_fixtures"
REQUESTS = sorted(
    p
    for folder in ("scenarios", "attack-cases")
    for p in (FIXTURES / folder).glob("*.json")
    if "prefetch" in json.loads(p.read_text(encoding="utf-8"))
)
A_REQUEST = FIXTURES / "scenarios" / "excl-fever-observation-celsius.json"


def selector() -> Selector:
    return Selector(Relevance(KNOWLEDGE), NOW)


def summary(scanned: Scanned) -> tuple[Any, ...]:
    return (scanned.fault, scanned.kept, scanned.studies, scanned.conditions, scanned.observations)


def scans(body: bytes, decode: Callable[[bytes], Any] = decode_request) -> dict[str, Any]:
    """Each prefetch key scanned as the record layer scans it: from the layered decode, or
    (``decode=orjson.loads``) from the body decoded whole."""
    request = decode(body)
    return {
        key: summary(selector().scan(value, expected_type(TEMPLATES.get(key, "X?"))))
        for key, value in (request.get("prefetch") or {}).items()
    }


def test_the_fixtures_are_found() -> None:
    assert len(REQUESTS) > 200


@pytest.mark.parametrize("path", REQUESTS, ids=lambda p: p.stem)
def test_every_fixture_scans_the_same_raw_and_whole(path: Path) -> None:
    body = path.read_bytes()
    objects = [v for v in orjson.loads(body)["prefetch"].values() if isinstance(v, dict)]
    raw = [v for v in decode_request(body)["prefetch"].values() if isinstance(v, RawJson)]
    assert len(raw) == len(objects)  # every object stays raw until the scan
    assert scans(body) == scans(body, orjson.loads)


def test_the_members_but_prefetch_are_decoded_as_usual() -> None:
    body = A_REQUEST.read_bytes()
    assert materialised(decode_request(body)) == orjson.loads(body)


# ------------------------------------------------------------------ generated Bundles

JSON_LEAF = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
JSON = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
CODING = st.fixed_dictionaries(
    {},
    optional={
        "system": st.sampled_from(
            ["http://loinc.org", "http://snomed.info/sct", "http://hl7.org/fhir/sid/icd-10-cm"]
        )
        | JSON,
        "code": st.sampled_from(["8310-5", "29463-7", "M54.12", "C34.90", "386661006"]) | JSON,
        "display": st.sampled_from(["Fever", "No radiculopathy", "Weight"]) | JSON,
    },
)
CONCEPT = st.fixed_dictionaries({}, optional={"coding": st.lists(CODING, max_size=2) | JSON})
RESOURCE = st.fixed_dictionaries(
    {"resourceType": st.sampled_from(["Condition", "Observation", "Patient", "Procedure"]) | JSON},
    optional={
        "id": st.text(max_size=4),
        "code": CONCEPT | JSON,
        "note": st.lists(st.fixed_dictionaries({"text": st.text(max_size=20) | JSON})) | JSON,
        "valueString": st.sampled_from(["38.9", "fever", "none"]) | JSON,
        "valueCodeableConcept": CONCEPT,
        "component": st.lists(st.fixed_dictionaries({"code": CONCEPT})) | JSON,
        "effectiveDateTime": st.sampled_from(["2026-11-20", "2019-01-01T00:00:00Z", "2026"]) | JSON,
        "effectivePeriod": JSON,
        "issued": JSON,
        "subject": JSON,
        "valueQuantity": JSON,
    },
)
ENTRY = st.fixed_dictionaries({}, optional={"resource": RESOURCE | JSON, "fullUrl": st.text()})
BUNDLE = st.fixed_dictionaries(
    {"resourceType": st.just("Bundle") | JSON, "entry": st.lists(ENTRY | JSON, max_size=5) | JSON},
    optional={"link": JSON, "type": st.just("searchset")},
)


@settings(max_examples=300, deadline=None)
@given(BUNDLE, st.sampled_from(["Bundle", "Condition", "Patient"]))
def test_any_bundle_scans_the_same_raw_and_whole(bundle: dict[str, Any], expected: Any) -> None:
    raw = orjson.dumps(bundle)
    value = decode_request(b'{"prefetch": {"k": ' + raw + b"}}")["prefetch"]["k"]
    layered = selector().scan(value, expected)
    assert summary(layered) == summary(selector().scan(orjson.loads(raw), expected))


# ------------------------------------------------------------------ what the test reads


class Recording(dict[str, Any]):
    """A resource that notes every member the relevance test reads."""

    read: ClassVar[set[str]] = set()

    def get(self, key: str, default: Any = None) -> Any:
        Recording.read.add(key)
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        Recording.read.add(str(key))
        return super().__contains__(key)

    def __getitem__(self, key: str) -> Any:
        Recording.read.add(key)
        return super().__getitem__(key)


def test_the_relevance_test_reads_only_the_decoded_members() -> None:
    test = selector()
    relevance = Relevance(KNOWLEDGE)
    seen = 0
    for path in REQUESTS:
        for value in orjson.loads(path.read_bytes())["prefetch"].values():
            for entry in (value or {}).get("entry", []):
                resource = Recording(entry["resource"])
                kind = resource["resourceType"]
                if kind == "Condition":
                    relevance.condition(resource)
                elif kind == "Observation":
                    test.observation(resource)
                seen += 1
    assert seen > 300
    assert Recording.read - HEAD_MEMBERS == set()
    assert {"code", "note", "effectiveDateTime", "valueString"} <= Recording.read


# ------------------------------------------------------------------ the old path's judgements


def post(client: FlaskClient, prefetch_json: bytes) -> Any:
    body = A_REQUEST.read_bytes()
    head, _, _ = body.partition(b'"prefetch"')
    data = head + b'"prefetch": ' + prefetch_json + b"}"
    return client.post("/cds-services/order-sign", data=data, content_type="application/json")


@pytest.mark.parametrize(
    ("prefetch", "diagnostic"),
    [
        (b'{"conditions": {"resourceType": "Bundle", "total": NaN}}', "NaN"),
        (b'{"conditions": {"resourceType": "Bundle", "x": "\xff"}}', "not valid JSON"),
        (b'{"conditions": ' + b"[" * 3000 + b"]" * 3000 + b"}", "nested too deeply"),
        (b'{"conditions": {"resourceType": "Bundle", "entry": [,]}}', "not valid JSON"),
    ],
)
def test_json_msgspec_would_skip_is_still_judged(
    client: FlaskClient, prefetch: bytes, diagnostic: str
) -> None:
    response = post(client, prefetch)
    assert response.status_code == 400
    assert diagnostic in response.get_json()["issue"][0]["diagnostics"]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"prefetch": {"k": {"resourceType": "Bundle", "entry": [{"resource": {'
        b'"resourceType": "Condition", "code": {"coding": [{"code": 1e999}]}}}]}}}',
        b'{"prefetch": {"k": {"resourceType": "Bundle", "entry": [{"resource": {'
        b'"resourceType": "Condition", "code": {"text": "\\ud800 fever"}}}]}}}',
        b'{"prefetch": {"k": {"resourceType": "Bundle", "link": 1e999, "entry": []}}}',
        b'{"prefetch": {"k": {"resourceType": "Bundle", "entry": [{"resource": {'
        b'"resourceType": "Condition", "code": {"text": "a"}, "code": {"text": "Fever"}}}]}}}',
        b'{"prefetch": {"k": null, "j": [1], "i": "x"}}',
        b'{"prefetch": [1]}',
        b'{"prefetch": null}',
        b"\xef\xbb\xbf{}",
        b'{"hook": "order-sign", "hook": "order-select", "other": 1e999}',
    ],
)
def test_odd_json_reads_as_the_whole_decode_reads_it(raw: bytes) -> None:
    layered, whole = decode_request(raw), loads_json(raw)
    if isinstance(whole, dict):
        whole.pop("other", None)  # not a CDS Hooks member: the request model ignores it
    assert materialised(layered) == whole
    prefetch = layered.get("prefetch") if isinstance(layered, dict) else None
    for value in prefetch.values() if isinstance(prefetch, dict) else ():
        if isinstance(value, RawJson):
            scanned = selector().scan(value, "Bundle")
            assert summary(scanned) == summary(selector().scan(value.value(), "Bundle"))


def materialised(request: Any) -> Any:
    """A layered request with its raw prefetch values decoded."""
    prefetch = request.get("prefetch") if isinstance(request, dict) else None
    if not isinstance(prefetch, dict):
        return request
    values = {k: v.value() if isinstance(v, RawJson) else v for k, v in prefetch.items()}
    return {**request, "prefetch": values}


def test_a_duplicate_member_reads_as_the_last_one_as_orjson_reads_it() -> None:
    raw = (
        b'{"prefetch": {"k": {"resourceType": "Bundle", "entry": [{"resource": {'
        b'"resourceType": "Condition", "code": {"text": "No fever"}, '
        b'"code": {"text": "Fever 39.1, febrile"}}}]}}}'
    )
    value = decode_request(raw)["prefetch"]["k"]
    assert len(selector().scan(value, "Bundle").kept) == 1  # the last "code" is the one read


def test_a_raw_code_is_answered_once_by_its_text_and_a_long_one_every_time() -> None:
    relevance = Relevance(KNOWLEDGE)
    radiculopathy = b'{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"M54.12"}]}'
    assert relevance.condition({"code": msgspec.Raw(radiculopathy)}) is True
    assert relevance._raw_codes == {radiculopathy: True}
    denied = b'{"text": "' + b"pain " * 300 + b'no radiculopathy"}'
    named = b'{"text": "' + b"pain " * 300 + b'with radiculopathy"}'
    assert relevance.condition({"code": msgspec.Raw(denied)}) is False
    assert relevance.condition({"code": msgspec.Raw(named)}) is True
    assert len(relevance._raw_codes) == 1  # over RAW_KEY_MAX_BYTES: not remembered
    fever = b'{"coding":[{"system":"http://loinc.org","code":"8310-5"}]}'
    keeps = Selector(Relevance(KNOWLEDGE), NOW).observation
    reading = {"resourceType": "Observation", "effectiveDateTime": NOW.isoformat()}
    assert keeps({**reading, "code": msgspec.Raw(fever)}) is True
    assert (
        keeps({**reading, "code": msgspec.Raw(fever), "effectiveDateTime": "2019-01-01"}) is False
    )


def test_an_integer_outside_64_bits_is_read_exactly_as_the_standard_library_reads_it() -> None:
    big = 18446744073709551617  # 2**64 + 1: orjson reads the nearest float
    raw = (
        b'{"context": {"n": 18446744073709551617}, "prefetch": {"k": {"resourceType": "Bundle",'
        b' "entry": [{"resource": {"resourceType": "Condition", "code": {"text": "Fever 39.1"},'
        b' "x": -18446744073709551617}}]}}}'
    )
    request = decode_request(raw)
    assert request["context"]["n"] == big and isinstance(request["context"]["n"], int)
    kept = selector().scan(request["prefetch"]["k"], "Bundle").kept
    assert kept[0]["x"] == -big
    assert materialised(request) == json.loads(raw)
    assert orjson.loads(raw)["context"]["n"] != big  # the difference, on purpose


# ------------------------------------------------------------------ the patients it must not rate

ICD = "http://hl7.org/fhir/sid/icd-10-cm"
BASE = FIXTURES / "scenarios" / "code-cancer-c50.json"  # pat-1, an adult, a cervical CT order


def rated(client: FlaskClient, conditions: list[Any], observations: Sequence[Any] = ()) -> bool:
    """Does the CT order get "Usually not appropriate" for this record (sent raw)?"""
    body = json.loads(BASE.read_text(encoding="utf-8"))
    prefetch = body["prefetch"]
    prefetch["conditions"] = {
        "resourceType": "Bundle",
        "entry": [{"resource": r} for r in conditions],
    }
    prefetch["observations"] = {
        "resourceType": "Bundle",
        "entry": [{"resource": r} for r in observations],
    }
    return says_not_appropriate(client, orjson.dumps(body))


def says_not_appropriate(client: FlaskClient, data: bytes) -> bool:
    response = client.post("/cds-services/order-select", data=data, content_type="application/json")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return any("Usually not appropriate" in c["summary"] for c in response.get_json()["cards"])


DENIED = {"text": "Neck pain, no radiculopathy"}
RADICULOPATHY = {"coding": [{"system": ICD, "code": "M54.12"}]}
TEMPERATURE = coded(LOINC, "8310-5")


def test_the_variants_own_patient_is_rated_after_many_denials(client: FlaskClient) -> None:
    assert rated(client, [condition(f"d{i}", DENIED, patient="pat-1") for i in range(30)])


def test_a_finding_after_many_denials_of_it_is_not_rated(client: FlaskClient) -> None:
    denials = [condition(f"d{i}", DENIED, patient="pat-1") for i in range(30)]
    named = condition("r", {"text": "Cervical radiculopathy"}, patient="pat-1")
    assert not rated(client, [*denials, named])


def test_a_code_first_seen_resolved_then_active_is_not_rated(client: FlaskClient) -> None:
    earlier = condition("old", RADICULOPATHY, status="resolved", patient="pat-1")
    assert rated(client, [earlier])  # resolved: the variant's
    assert not rated(client, [earlier, condition("now", RADICULOPATHY, patient="pat-1")])


def test_a_code_one_level_deeper_read_raw_is_not_rated(client: FlaskClient) -> None:
    disc = {"coding": [{"system": ICD, "code": "M50.121"}]}  # disc disorder, radiculopathy C4-C5
    assert not rated(client, [condition("c", disc, patient="pat-1")])


def test_a_long_code_text_naming_the_finding_is_not_rated(client: FlaskClient) -> None:
    long = {"text": "Neck pain for years, " * 40 + "now with cervical radiculopathy"}
    assert len(orjson.dumps(long)) > 500  # answered without the memo
    assert not rated(client, [condition("c", long, patient="pat-1")])


def test_escaped_member_names_are_read_as_the_names(client: FlaskClient) -> None:
    body = json.loads(BASE.read_text(encoding="utf-8"))
    body["prefetch"]["conditions"] = {
        "resourceType": "Bundle",
        "entry": [{"resource": condition("c", RADICULOPATHY, patient="pat-1")}],
    }
    data = orjson.dumps(body).replace(b'"code":{"coding"', b'"c\\u006fde":{"c\\u006fding"')
    assert b"\\u006f" in data
    assert not says_not_appropriate(client, data)


def test_a_fever_among_normal_readings_of_the_same_code_is_not_rated(client: FlaskClient) -> None:
    celsius = {"unit": "Cel", "unit_system": UCUM, "patient": "pat-1"}
    normal = [
        observation(f"t{i}", TEMPERATURE, 36.8, when=f"2026-11-{i + 1:02d}T08:00:00Z", **celsius)
        for i in range(20)
    ]
    assert rated(client, [], normal)
    fever = observation("f", TEMPERATURE, 39.2, when="2026-11-22T08:00:00Z", **celsius)
    assert not rated(client, [], [*normal, fever])
