"""How the cost of a hook call grows with the size of the patient record.

Times an order-sign call in-process (Flask test client: decoding, validation, record, rules,
cards) with a prefetch of 10, 100, 1,000 and 10,000 resources, mostly irrelevant Observations
and Conditions plus the few that matter, next to the floor: decoding the same body with json.

    python benchmarks/bench_record.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from cds_service import create_app

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


def request_body(size: int) -> bytes:
    """A patient with ``size`` resources: ~2/3 irrelevant Observations, ~1/3 irrelevant
    Conditions, plus a problem-list cervicogenic headache and a few weights and temperatures."""
    relevant_obs = [observation(900_000 + i, "29463-7", 80.0 - i * 0.1, "kg") for i in range(3)]
    relevant_obs += [observation(910_000 + i, "8310-5", 36.8, "Cel") for i in range(3)]
    relevant_cond = [
        {**condition(920_000, "279016001"), "clinicalStatus": {"coding": [{"code": "active"}]}}
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
            "procedures": None,
            "diagnosticReports": None,
            "imagingStudies": None,
        },
    }
    return json.dumps(body).encode()


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--repeat",
        type=int,
        default=0,
        help="calls per size (default: 200 for small sizes, fewer for large)",
    )
    args = parser.parse_args()
    store = tempfile.mkdtemp(prefix="cds-bench-")
    config = {
        "CDS_MAX_BODY_BYTES": 200_000_000,
        "CDS_LOG_LEVEL": "WARNING",
        "CDS_DATABASE_URL": f"sqlite:///{store}/store.sqlite3",
    }
    client = create_app(config, clock=lambda: NOW).test_client()
    print(
        f"{'resources':>9} {'body MB':>8} {'call p50 ms':>12} {'call p99 ms':>12} "
        f"{'floor p50 ms':>13} {'floor p99 ms':>13} {'ratio p50':>10}"
    )
    for size in (10, 100, 1_000, 10_000):
        body = request_body(size)
        repeat = args.repeat or {10: 300, 100: 300, 1_000: 100, 10_000: 30}[size]
        calls, floors = [], []
        for _ in range(3):  # warm-up
            client.post("/cds-services/order-sign", data=body, content_type="application/json")
        for _ in range(repeat):
            start = time.perf_counter()
            json.loads(body)
            floors.append(time.perf_counter() - start)
            start = time.perf_counter()
            response = client.post(
                "/cds-services/order-sign", data=body, content_type="application/json"
            )
            calls.append(time.perf_counter() - start)
            assert response.status_code == 200 and response.get_json()["cards"], response.data
        call50, floor50 = statistics.median(calls), statistics.median(floors)
        print(
            f"{size:>9} {len(body) / 1e6:>8.2f} {call50 * 1e3:>12.2f} "
            f"{percentile(calls, 0.99) * 1e3:>12.2f} {floor50 * 1e3:>13.2f} "
            f"{percentile(floors, 0.99) * 1e3:>13.2f} {call50 / floor50:>10.2f}"
        )


if __name__ == "__main__":
    main()
