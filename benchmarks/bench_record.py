"""How the cost of a hook call grows with the size of the patient record.

Times a hook call in-process (Flask test client: decoding, validation, record, rules, cards,
audit write, encoding) next to the floor: decoding the same body (``json``, and ``orjson``).
The process runs with the collector settings ``cds-service serve`` uses (everything loaded at
start-up frozen, gen-0 threshold 50,000): with the default settings gen-2 collections walk the
~100k objects of the FHIR model classes and time the collector, not the service
(``--default-gc`` shows it).

The record is a realistic patient's (``--record realistic``, the default): half Conditions
(a quarter with text: mostly repeated code displays, some free-text notes, some naming a red
flag or radiculopathy only to deny it, "No radiculopathy"), half body temperatures and weights
over eight years, which is what an EHR sends for the prefetch templates (every Condition, the
vital signs the rules read). The patient stays in the variant, so the full appraisal runs.
``--record synthetic`` is the older, flattering record: irrelevant codes the cheap test drops.

    python benchmarks/bench_record.py [--sizes 1000,10000] [--repeat N] [--hook order-select]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
IRRELEVANT_LOINC = [
    "8867-4",
    "9279-1",
    "8480-6",
    "8462-4",
    "2339-0",
    "718-7",
    "4548-4",
    "2093-3",
    "39156-5",
    "8302-2",
]
IRRELEVANT_SNOMED = ["44054006", "38341003", "55822004", "195662009", "10509002", "40055000"]


def observation(i: int, code: str, value: float, unit: str) -> dict[str, Any]:
    when = (NOW - timedelta(days=i % 700, minutes=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "resourceType": "Observation",
        "id": f"obs-{i}",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": LOINC, "code": code, "display": f"Measure {code}"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": when,
        "valueQuantity": {
            "value": value,
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        },
    }


def condition(i: int, code: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": f"cond-{i}",
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "resolved",
                }
            ]
        },
        "verificationStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": "confirmed",
                }
            ]
        },
        "code": {"coding": [{"system": SNOMED, "code": code, "display": f"Finding {code}"}]},
        "subject": {"reference": "Patient/p1"},
        "onsetDateTime": "2019-03-02T10:00:00Z",
    }


def synthetic_body(size: int) -> bytes:
    """A patient with ``size`` resources: ~2/3 irrelevant Observations, ~1/3 irrelevant
    Conditions, plus a problem-list cervicogenic headache and a few weights and temperatures."""
    relevant_obs = [observation(900_000 + i, "29463-7", 80.0 - i * 0.1, "kg") for i in range(3)]
    relevant_obs += [observation(910_000 + i, "8310-5", 36.8, "Cel") for i in range(3)]
    relevant_cond = [
        {
            **condition(920_000, "279016001"),
            "clinicalStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                        "code": "active",
                    }
                ]
            },
        }
    ]
    filler = max(size - len(relevant_obs) - len(relevant_cond), 0)
    observations = [
        observation(i, IRRELEVANT_LOINC[i % 10], 70.0 + i % 50, "mmHg")
        for i in range(filler * 2 // 3)
    ] + relevant_obs
    conditions = [
        condition(i, IRRELEVANT_SNOMED[i % 6]) for i in range(filler - filler * 2 // 3)
    ] + relevant_cond

    def bundle(resources: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(resources),
            "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources],
        }

    order = {
        "resourceType": "ServiceRequest",
        "id": "ct-1",
        "status": "draft",
        "intent": "order",
        "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "72125"}]},
        "subject": {"reference": "Patient/p1"},
    }
    body = {
        "hook": "order-sign",
        "hookInstance": "bench",
        "context": {
            "userId": "Practitioner/1",
            "patientId": "p1",
            "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": order}]},
        },
        "prefetch": {
            "patient": {"resourceType": "Patient", "id": "p1", "birthDate": "1980-01-01"},
            "conditions": bundle(conditions),
            "observations": bundle(observations),
            "observationValues": None,
            "procedures": None,
            "diagnosticReports": None,
            "imagingStudies": None,
        },
    }
    return json.dumps(body).encode()


CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"
YEARS = 8
PROBLEMS = [  # (SNOMED CT, ICD-10-CM, display): a typical adult problem list, none an exclusion
    ("38341003", "I10", "Essential hypertension"),
    ("44054006", "E11.9", "Type 2 diabetes mellitus"),
    ("55822004", "E78.5", "Hyperlipidemia"),
    ("195662009", "J02.9", "Acute viral pharyngitis"),
    ("10509002", "J20.9", "Acute bronchitis"),
    ("40055000", "J32.9", "Chronic sinusitis"),
    ("35489007", "F32.9", "Depressive disorder"),
    ("197480006", "F41.9", "Anxiety disorder"),
    ("235595009", "K21.9", "Gastroesophageal reflux disease"),
    ("195967001", "J45.909", "Asthma"),
    ("239873007", "M17.9", "Osteoarthritis of knee"),
    ("271737000", "D64.9", "Anemia"),
    ("414916001", "E66.9", "Obesity"),
    ("73430006", "G47.30", "Sleep apnea"),
    ("37796009", "G43.909", "Migraine"),
    ("81680005", "M54.2", "Neck pain"),
    ("57676002", "M25.50", "Joint pain"),
    ("267036007", "R06.00", "Dyspnea"),
]
NOTES = [  # free text without a candidate phrase (with a number, so texts differ)
    "Follow-up in {k} weeks; tolerating medication well",
    "Seen in clinic, BP {bp}/80, continue current plan",
    "Patient reports improvement after {k} days of treatment",
    "Referred to physiotherapy, {k} sessions booked",
    "Discussed lifestyle changes; recheck labs in {k} months",
]
DENIALS = [  # texts naming an exclusion only to deny it: ConText must read them, negated
    "No radiculopathy, no red flags",
    "Denies fever or chills",
    "No unintentional weight loss",
    "No night sweats",
    "No history of neck injury",
    "Negative for focal deficit",
    "Denies arm weakness or numbness in the arm",
    "No evidence of malignancy",
    "Neck pain without radiculopathy. Reviewed on visit {k}",
    "Denies fever or chills. Temperature {t} at visit {k}",
]
TEMPERATURE_CODES = ["8310-5"] * 7 + ["8331-1"] * 2 + ["8333-7"]


def when(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def real_condition(i: int, count: int) -> dict[str, Any]:
    """The i-th of ``count`` Conditions: coded twice, dated over the years, a quarter with text
    (most a code display, some a free-text note, some denying a red flag or radiculopathy)."""
    snomed, icd, display = PROBLEMS[(i * 7) % len(PROBLEMS)]
    days_ago = (i * 365.25 * YEARS / max(count, 1)) + 30
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": f"cond-{i}",
        "meta": {"lastUpdated": when(days_ago - 1)},
        "clinicalStatus": {
            "coding": [{"system": CLINICAL, "code": "active" if i % 10 < 3 else "resolved"}]
        },
        "verificationStatus": {"coding": [{"system": VERIFICATION, "code": "confirmed"}]},
        "category": [
            {
                "coding": [
                    {
                        "system": CATEGORY,
                        "code": "problem-list-item" if i % 3 else "encounter-diagnosis",
                    }
                ]
            }
        ],
        "code": {
            "coding": [
                {"system": SNOMED, "code": snomed, "display": display},
                {"system": ICD10, "code": icd, "display": display},
            ]
        },
        "subject": {"reference": "Patient/p1"},
        "onsetDateTime": when(days_ago),
        "recordedDate": when(days_ago - 0.5),
    }
    if i % 4 == 0:  # a quarter carry text
        kind = (i // 4) % 25
        resource["code"]["text"] = display
        if kind < 3:  # 12 %: a free-text note
            note = NOTES[i % len(NOTES)].format(k=i % 40, bp=110 + i % 30)
            resource["note"] = [{"text": note}]
        elif kind < 5:  # 8 %: a red flag or radiculopathy named to be denied
            note = DENIALS[i % len(DENIALS)].format(k=i % 20, t=f"36.{i % 10}")
            resource["note"] = [{"text": note}]
    if i % 10 >= 3:
        resource["abatementDateTime"] = when(days_ago - 20)
    return resource


def vital_sign(i: int, count: int) -> dict[str, Any]:
    """The i-th of ``count`` vital signs over the years: 60 % body temperatures (Celsius,
    some Fahrenheit, some site-specific codes), 40 % body weights (steady, no weight loss)."""
    days_ago = i * 365.25 * YEARS / max(count, 1) + 0.25
    if i % 5 < 3:
        code, text = TEMPERATURE_CODES[i % len(TEMPERATURE_CODES)], "Body temperature"
        celsius = 36.4 + (i % 9) / 10
        value, unit = (round(celsius * 9 / 5 + 32, 1), "[degF]") if i % 7 == 0 else (celsius, "Cel")
        printed = "degF" if unit == "[degF]" else "C"
    else:
        code, text = "29463-7", "Body weight"
        value, unit, printed = round(81.0 + (i % 5 - 2) * 0.3, 1), "kg", "kg"
    return {
        "resourceType": "Observation",
        "id": f"vs-{i}",
        "meta": {"lastUpdated": when(days_ago)},
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                        "display": "Vital Signs",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": LOINC, "code": code, "display": text}], "text": text},
        "subject": {"reference": "Patient/p1"},
        "encounter": {"reference": f"Encounter/enc-{i // 3}"},
        "effectiveDateTime": when(days_ago),
        "issued": when(days_ago - 0.01),
        "valueQuantity": {"value": value, "unit": printed, "system": UCUM, "code": unit},
    }


def searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [
            {
                "fullUrl": f"https://ehr.example.org/fhir/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }


def realistic_body(size: int, hook: str = "order-sign") -> bytes:
    """A patient with ``size`` resources as an EHR sends them for the prefetch templates:
    half Conditions (all of them, plus an active problem-list cervicogenic headache), half
    the body temperatures and weights the Observation template asks for, over eight years.
    The CT order is appraised in full: the patient stays in the variant."""
    half = max(size // 2, 1)
    conditions = [real_condition(i, half) for i in range(half - 1)]
    conditions.append(
        {
            "resourceType": "Condition",
            "id": "cond-cgh",
            "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "active"}]},
            "verificationStatus": {"coding": [{"system": VERIFICATION, "code": "confirmed"}]},
            "category": [{"coding": [{"system": CATEGORY, "code": "problem-list-item"}]}],
            "code": {
                "coding": [
                    {"system": SNOMED, "code": "279016001", "display": "Cervicogenic headache"}
                ],
                "text": "Cervicogenic headache",
            },
            "subject": {"reference": "Patient/p1"},
            "onsetDateTime": when(40),
        }
    )
    observations = [vital_sign(i, size - half) for i in range(size - half)]
    order = {
        "resourceType": "ServiceRequest",
        "id": "ct-1",
        "status": "draft",
        "intent": "order",
        "code": {
            "coding": [
                {
                    "system": "http://www.ama-assn.org/go/cpt",
                    "code": "72125",
                    "display": "CT cervical spine without contrast",
                }
            ]
        },
        "subject": {"reference": "Patient/p1"},
    }
    context: dict[str, Any] = {
        "userId": "Practitioner/1",
        "patientId": "p1",
        "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": order}]},
    }
    if hook == "order-select":
        context["selections"] = ["ServiceRequest/ct-1"]
    body = {
        "hook": hook,
        "hookInstance": "bench",
        "context": context,
        "prefetch": {
            "patient": {
                "resourceType": "Patient",
                "id": "p1",
                "name": [{"family": "Doe", "given": ["Jane"]}],
                "gender": "female",
                "birthDate": "1980-01-01",
            },
            "conditions": searchset(conditions),
            "observations": searchset(observations),
            "observationValues": searchset([]),
            "procedures": searchset([]),
            "diagnosticReports": searchset([]),
            "imagingStudies": searchset([]),
        },
    }
    return json.dumps(body).encode()


request_body = realistic_body  # what the load test sends


def production_gc() -> None:
    """The collector settings ``cds-service serve`` applies once the app is loaded."""
    try:
        from cds_service.web.server import GC_GEN0_THRESHOLD as threshold
    except ImportError:  # pragma: no cover - the server module moved it
        threshold = 50_000
    gc.collect()
    gc.freeze()
    gc.set_threshold(threshold, 20, 20)


STAGES: list[tuple[str, str, str, int]] = [  # module, attribute, label, depth
    ("cds_service.web.routes", "json_body", "decode the request (body.json_body)", 0),
    ("cds_service.web.routes", "run_hook", "pipeline.run_hook", 0),
    ("cds_service.pipeline", "parse", "validate the request (pydantic)", 1),
    ("cds_service.pipeline", "read_draft_orders", "draft orders", 1),
    ("cds_service.pipeline", "assemble_record", "record (prefetch.assemble_record)", 1),
    ("cds_service.record.selection", "Selector.scan", "one pass: checks, counts, relevance", 2),
    ("cds_service.record.prefetch", "read_selected", "read what the pass kept", 2),
    ("cds_service.record.record_reader", "is_valid", "fhir.resources validation", 3),
    ("cds_service.pipeline", "appraise", "rules (criteria.appraise)", 1),
    ("cds_service.clinical.text_lookups", "TextLookups.text_affirms", "ConText on texts", 2),
    ("cds_service.ops.audit", "AuditTrail.overridden_orders", "store: overridden orders", 1),
    ("cds_service.advice.appraised", "Adviser.advise", "cards (Adviser.advise)", 1),
    ("cds_service.ops.audit", "AuditTrail.record_call", "store: audit write", 1),
    ("cds_service.pipeline", "to_wire", "response dict (pydantic dump)", 0),
    ("cds_service.web.routes", "jsonify", "encode the response (jsonify)", 0),
]


@contextmanager
def staged(totals: dict[str, float]) -> Iterator[list[tuple[str, int]]]:
    """Wrap each stage's function so that its inclusive time adds up in ``totals``."""
    import importlib

    undo: list[tuple[object, str, object]] = []
    shown: list[tuple[str, int]] = []
    for module_name, attribute, label, depth in STAGES:
        owner: object = importlib.import_module(module_name)
        *path, name = attribute.split(".")
        for part in path:
            owner = getattr(owner, part, None)
        original = getattr(owner, name, None) if owner is not None else None
        if original is None:
            continue

        def timed(*args: Any, _f: Any = original, _l: str = label, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return _f(*args, **kwargs)
            finally:
                totals[_l] += time.perf_counter() - started

        setattr(owner, name, timed)
        undo.append((owner, name, original))
        shown.append((label, depth))
    try:
        yield shown
    finally:
        for owner, name, original in reversed(undo):
            setattr(owner, name, original)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--repeat",
        type=int,
        default=0,
        help="calls per size (default: 300 for small sizes, fewer for large)",
    )
    parser.add_argument("--sizes", default="10,100,1000,10000")
    parser.add_argument("--hook", default="order-sign", choices=["order-sign", "order-select"])
    parser.add_argument("--record", default="realistic", choices=["realistic", "synthetic"])
    parser.add_argument(
        "--default-gc", action="store_true", help="keep Python's default collector settings"
    )
    parser.add_argument("--no-stages", action="store_true", help="skip the per-stage pass")
    args = parser.parse_args()
    store = tempfile.mkdtemp(prefix="cds-bench-")
    config = {
        "CDS_MAX_BODY_BYTES": 200_000_000,
        "CDS_LOG_LEVEL": "WARNING",
        "CDS_DATABASE_URL": f"sqlite:///{store}/store.sqlite3",
    }
    started = time.perf_counter()
    from cds_service import create_app

    imported = time.perf_counter()
    app = create_app(config, clock=lambda: NOW)
    built = time.perf_counter()
    client = app.test_client()
    print(
        f"worker start-up: {built - started:.2f} s (import {imported - started:.2f} s, "
        f"create_app {built - imported:.2f} s: knowledge, models, medspaCy pipeline); "
        f"serve builds it once and granian forks the workers"
    )
    if not args.default_gc:
        production_gc()
    collector = "default" if args.default_gc else f"production (frozen, {gc.get_threshold()})"
    print(f"record: {args.record}, hook: {args.hook}, collector: {collector}")
    url = f"/cds-services/{args.hook}"
    sizes = [int(s) for s in args.sizes.split(",")]
    bodies = {
        size: realistic_body(size, args.hook)
        if args.record == "realistic"
        else synthetic_body(size)
        for size in sizes
    }

    def call(body: bytes) -> Any:
        response = client.post(url, data=body, content_type="application/json")
        assert response.status_code == 200, response.data[:500]
        assert b'"not-appropriate"' in response.data, response.data[:500]  # in the variant
        return response

    first = time.perf_counter()
    call(bodies[sizes[0]])
    cold = (time.perf_counter() - first) * 1e3
    print(f"first call ({sizes[0]} resources, cold caches): {cold:.1f} ms")
    print(
        f"{'resources':>9} {'body MB':>8} {'call p50':>9} {'call p99':>9} "
        f"{'json p50':>9} {'json p99':>9} {'orjson p50':>10} "
        f"{'x json p50':>10} {'x json p99':>10} {'x orjson p50':>12}   (ms)"
    )
    for size in sizes:
        body = bodies[size]
        repeat = args.repeat or {10: 300, 100: 300, 1_000: 150, 10_000: 40}.get(size, 40)
        calls: list[float] = []
        floors: list[float] = []
        fast_floors: list[float] = []
        for _ in range(3):  # warm-up
            call(body)
        for _ in range(repeat):
            start = time.perf_counter()
            json.loads(body)
            floors.append(time.perf_counter() - start)
            start = time.perf_counter()
            orjson.loads(body)
            fast_floors.append(time.perf_counter() - start)
            start = time.perf_counter()
            call(body)
            calls.append(time.perf_counter() - start)
        call50, floor50 = statistics.median(calls), statistics.median(floors)
        call99, floor99 = percentile(calls, 0.99), percentile(floors, 0.99)
        fast50 = statistics.median(fast_floors)
        print(
            f"{size:>9} {len(body) / 1e6:>8.2f} {call50 * 1e3:>9.2f} {call99 * 1e3:>9.2f} "
            f"{floor50 * 1e3:>9.2f} {floor99 * 1e3:>9.2f} {fast50 * 1e3:>10.2f} "
            f"{call50 / floor50:>10.2f} {call99 / floor99:>10.2f} {call50 / fast50:>12.2f}",
            flush=True,
        )
    if args.no_stages:
        return
    for size in sizes[-2:]:
        body = bodies[size]
        count = max(10, (args.repeat or {10_000: 20}.get(size, 60)))
        totals: dict[str, float] = defaultdict(float)
        with staged(totals) as shown:
            began = time.perf_counter()
            for _ in range(count):
                call(body)
            whole = (time.perf_counter() - began) / count
        print(f"\nper-stage cost at {size} resources (mean of {count} calls, inclusive):")
        top = 0.0
        for label, depth in shown:
            spent = totals[label] / count
            top += spent if depth == 0 else 0.0
            print(f"  {'  ' * depth + label:<48} {spent * 1e3:>8.2f} ms {spent / whole:>6.1%}")
        rest = whole - top
        label = "Flask, test client, freeing the body"
        print(f"  {label:<48} {rest * 1e3:>8.2f} ms {rest / whole:>6.1%}")
        print(f"  {'the whole call':<48} {whole * 1e3:>8.2f} ms")


if __name__ == "__main__":
    main()
