"""Arbitrary JSON thrown at the hook and feedback endpoints never gets a 5xx, and 200s always
conform.

CI runs with a fixed seed (``CDS_FUZZ_SEED``, default below) and the example counts written
here. A longer run, e.g. before a release:

    CDS_FUZZ_SEED=$RANDOM CDS_FUZZ_EXAMPLES=20000 .venv/bin/python -m pytest tests/test_fuzz.py
"""

from __future__ import annotations

import contextlib
import copy
import os
from typing import Any

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from support.builders import hook_request, order
from support.conformance import assert_conforms

from cds_service import create_app

APP = create_app({"TESTING": True})
SEED = int(os.environ.get("CDS_FUZZ_SEED", "20261201"))
EXAMPLES = int(os.environ.get("CDS_FUZZ_EXAMPLES", "0"))


def examples(default: int) -> int:
    """The example count of a test: its default in CI, ``CDS_FUZZ_EXAMPLES`` for a long run."""
    return EXAMPLES or default


ICD = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
CPT = "http://www.ama-assn.org/go/cpt"
# a record with every kind of resource the rules read, so that random changes reach the readers
RECORD = {
    "patient": {"resourceType": "Patient", "id": "p1", "birthDate": "1980-01-01"},
    "conditions": {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {
                "resource": {
                    "resourceType": "Condition",
                    "id": "c1",
                    "clinicalStatus": {"coding": [{"code": "resolved"}]},
                    "onsetPeriod": {"start": "2026-01-01"},
                    "abatementDateTime": "2026",
                    "code": {
                        "coding": [{"system": ICD, "code": "M54.12", "display": "Radiculopathy"}]
                    },
                }
            },
            {
                "resource": {
                    "resourceType": "Condition",
                    "id": "c2",
                    "code": {
                        "coding": [{"system": "http://snomed.info/sct", "code": "279016001"}],
                        "text": "CGH",
                    },
                }
            },
        ],
    },
    "observations": {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {
                "resource": {
                    "resourceType": "Observation",
                    "id": "o1",
                    "status": "final",
                    "code": {"coding": [{"system": LOINC, "code": "8310-5"}]},
                    "effectivePeriod": {"end": "2026-11-20"},
                    "valueQuantity": {"value": 38.5, "code": "Cel"},
                }
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "id": "o2",
                    "status": "final",
                    "code": {"coding": [{"system": LOINC, "code": "29463-7"}]},
                    "effectiveDateTime": "2026-10-01",
                    "valueQuantity": {"value": 80, "unit": "kg"},
                }
            },
        ],
    },
    # imaging already done, each too old or not counting, so that the order is still rated
    "procedures": {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {
                "resource": {
                    "resourceType": "Procedure",
                    "id": "pr1",
                    "status": "completed",
                    "code": {"coding": [{"system": CPT, "code": "72141"}]},
                    "performedPeriod": {"start": "2019-01-01", "end": "2019-01-01"},
                }
            }
        ],
    },
    "diagnosticReports": {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {
                "resource": {
                    "resourceType": "DiagnosticReport",
                    "id": "dr1",
                    "status": "entered-in-error",
                    "code": {"coding": [{"system": LOINC, "code": "30592-0"}]},
                    "effectiveDateTime": "2026-10-01",
                }
            }
        ],
    },
    "imagingStudies": {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {
                "resource": {
                    "resourceType": "ImagingStudy",
                    "id": "is1",
                    "status": "cancelled",
                    "procedureCode": [{"coding": [{"system": CPT, "code": "72040"}]}],
                    "started": "2026-10-01T10:00:00Z",
                }
            }
        ],
    },
    "observationValues": {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {
                "resource": {
                    "resourceType": "Observation",
                    "id": "o9",
                    "status": "final",
                    "code": {"coding": [{"system": LOINC, "code": "11450-4"}]},
                    "valueCodeableConcept": {
                        "coding": [{"system": "http://snomed.info/sct", "code": "44077006"}],
                        "text": "numbness, denied",
                    },
                    "valueBoolean": False,
                }
            }
        ],
    },
}

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=25,
)
FIELDS = [
    "hook",
    "hookInstance",
    "fhirServer",
    "fhirAuthorization",
    "context",
    "prefetch",
    "userId",
    "patientId",
    "selections",
    "draftOrders",
    "resourceType",
    "entry",
    "resource",
    "code",
    "coding",
    "system",
    "display",
    "text",
    "reasonCode",
    "reasonReference",
    "reference",
    "contained",
    "fullUrl",
    "birthDate",
    "valueQuantity",
    "value",
    "unit",
    "status",
    "clinicalStatus",
    "verificationStatus",
    "onsetDateTime",
    "onsetPeriod",
    "abatementPeriod",
    "effectiveDateTime",
    "effectivePeriod",
    "performedDateTime",
    "performedPeriod",
    "issued",
    "started",
    "procedureCode",
    "link",
    "relation",
    "url",
    "issue",
    "severity",
]
keys = st.sampled_from(FIELDS) | st.text(max_size=8)
shaped = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(keys, children, max_size=5),
    max_leaves=30,
)
STEPS = [
    "context",
    "draftOrders",
    "entry",
    0,
    1,
    "resource",
    "code",
    "coding",
    "prefetch",
    "patient",
    "conditions",
    "observations",
    "procedures",
    "diagnosticReports",
    "imagingStudies",
    "observationValues",
    "procedureCode",
    "reasonCode",
    "status",
    "clinicalStatus",
    "onsetPeriod",
    "effectivePeriod",
    "valueQuantity",
    "link",
    "birthDate",
    "value",
    "system",
]


def answered(path: str, body: Any) -> Any:
    """The JSON of a 200, else None after checking the error is an OperationOutcome (a 4xx)."""
    response = APP.test_client().post(path, json=body)
    assert response.status_code < 500, response.get_data(as_text=True)
    payload = response.get_json()
    if response.status_code == 200:
        return payload
    assert payload["resourceType"] == "OperationOutcome"
    return None


def check(service: str, body: Any) -> None:
    payload = answered(f"/cds-services/{service}", body)
    if payload is not None:
        assert_conforms(payload)


@seed(SEED)
@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(service=st.sampled_from(["order-select", "order-sign"]), body=json_values)
def test_arbitrary_json_never_5xx(service: str, body: Any) -> None:
    check(service, body)


@seed(SEED)
@settings(max_examples=examples(400), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    service=st.sampled_from(["order-select", "order-sign"]),
    path=st.lists(st.sampled_from(STEPS), min_size=1, max_size=7),
    value=shaped,
)
def test_valid_requests_with_a_random_part_never_5xx(
    service: str, path: list[Any], value: Any
) -> None:
    body = hook_request(service, [order("r1", code="72125")], prefetch=copy.deepcopy(RECORD))
    target: Any = body
    for step in path[:-1]:
        try:
            target = target[step]
        except (KeyError, IndexError, TypeError):
            break
    with contextlib.suppress(IndexError, TypeError):
        target[path[-1]] = value
    check(service, body)


FEEDBACK = {
    "feedback": [
        {
            "card": "9d8b923b-9417-459e-9027-f8da8c1392fa",
            "outcome": "overridden",
            "outcomeTimestamp": "2026-11-23T12:01:00Z",
            "acceptedSuggestions": [{"id": "s1"}],
            "overrideReason": {
                "reason": {"system": "https://example.org/reasons", "code": "x", "display": "X"},
                "userComment": "free text",
            },
        }
    ]
}
FEEDBACK_STEPS = [
    "feedback",
    0,
    1,
    "card",
    "outcome",
    "outcomeTimestamp",
    "acceptedSuggestions",
    "id",
    "overrideReason",
    "reason",
    "system",
    "code",
    "display",
    "userComment",
]
feedback_scalars = scalars | st.sampled_from(
    [
        "accepted",
        "overridden",
        "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:59:59-05:00",
        "2026-11-23T12:01:00",
        "é" * 64,
        "\x00",
        10**400,
    ]
)


def check_feedback(service: str, body: Any) -> None:
    payload = answered(f"/cds-services/{service}/feedback", body)
    if payload is not None:
        assert set(payload) == {"received", "new"}


@seed(SEED)
@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(service=st.sampled_from(["order-select", "order-sign"]), body=json_values)
def test_arbitrary_json_as_feedback_never_5xx(service: str, body: Any) -> None:
    check_feedback(service, body)


@seed(SEED)
@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    service=st.sampled_from(["order-select", "order-sign"]),
    path=st.lists(st.sampled_from(FEEDBACK_STEPS), min_size=1, max_size=6),
    value=st.recursive(
        feedback_scalars,
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.sampled_from(FEEDBACK_STEPS[3:]) | st.text(max_size=6), children)
        ),
        max_leaves=12,
    ),
)
def test_valid_feedback_with_a_random_part_never_5xx(
    service: str, path: list[Any], value: Any
) -> None:
    body = copy.deepcopy(FEEDBACK)
    target: Any = body
    for step in path[:-1]:
        try:
            target = target[step]
        except (KeyError, IndexError, TypeError):
            break
    with contextlib.suppress(IndexError, TypeError):
        target[path[-1]] = value
    check_feedback(service, body)
