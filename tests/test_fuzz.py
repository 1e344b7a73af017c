"""Arbitrary JSON thrown at the hook endpoints never gets a 5xx, and 200s always conform."""

from __future__ import annotations

import contextlib
from typing import Any

from builders import hook_request, order
from conformance import assert_conforms
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_service import create_app

APP = create_app({"TESTING": True})

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
    "reasonCode",
    "birthDate",
    "valueQuantity",
]
keys = st.sampled_from(FIELDS) | st.text(max_size=8)
shaped = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(keys, children, max_size=5),
    max_leaves=30,
)


def check(service: str, body: Any) -> None:
    response = APP.test_client().post(f"/cds-services/{service}", json=body)
    assert response.status_code < 500, response.get_data(as_text=True)
    payload = response.get_json()
    if response.status_code == 200:
        assert_conforms(payload)
    else:
        assert payload["resourceType"] == "OperationOutcome"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(service=st.sampled_from(["order-select", "order-sign"]), body=json_values)
def test_arbitrary_json_never_5xx(service: str, body: Any) -> None:
    check(service, body)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    service=st.sampled_from(["order-select", "order-sign"]),
    path=st.lists(
        st.sampled_from(
            [
                "context",
                "draftOrders",
                "entry",
                0,
                "resource",
                "code",
                "prefetch",
                "patient",
                "conditions",
                "reasonCode",
            ]
        ),
        min_size=1,
        max_size=5,
    ),
    value=shaped,
)
def test_valid_requests_with_a_random_part_never_5xx(
    service: str, path: list[Any], value: Any
) -> None:
    body = hook_request(service, [order("r1")])
    target: Any = body
    for step in path[:-1]:
        try:
            target = target[step]
        except (KeyError, IndexError, TypeError):
            break
    with contextlib.suppress(IndexError, TypeError):
        target[path[-1]] = value
    check(service, body)
