"""Scenarios of issue 20's leftover in the rules (i20wt): body weights with no date and the
weight-loss red flag, both ways.

A weight with no date may have been taken at any time in the 12-month window (PROJECT DEFAULT,
knowledge file beside the weight-loss rule): a loss of 5% counts when any placement of it gives
one. Built with the helpers of ``make_scenarios.py``; their expectations are in
``tests/scenarios.yaml`` (written from the seed, the clinical reference and that rule).
"""

from __future__ import annotations

from typing import Any

from make_scenarios import weight
from scenarios_observations import ct_request, pounds


def undated(resource: dict[str, Any]) -> dict[str, Any]:
    """The reading without ``effectiveDateTime`` (nor any other time)."""
    return {k: v for k, v in resource.items() if k != "effectiveDateTime"}


def unitless(resource: dict[str, Any]) -> dict[str, Any]:
    """The reading's value with no unit at all."""
    return {**resource, "valueQuantity": {"value": resource["valueQuantity"]["value"]}}


def in_unit(resource: dict[str, Any], unit: str) -> dict[str, Any]:
    value = resource["valueQuantity"]["value"]
    quantity = {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}
    return {**resource, "valueQuantity": quantity}


def undated_weight_scenarios() -> dict[str, dict[str, Any]]:
    s: dict[str, dict[str, Any]] = {}
    # a loss any placement of the undated weight gives: outside the variant
    s["obs-weight-undated-latest-7-5-percent"] = ct_request(
        observations=[weight("w1", 80.0, 30), undated(weight("w2", 74.0, 0))]
    )
    s["obs-weight-undated-earlier-6-7-percent"] = ct_request(
        observations=[undated(weight("w1", 90.0, 0)), weight("w2", 84.0, 3)]
    )
    s["obs-weight-undated-pounds-no-unit"] = ct_request(
        observations=[pounds("w1", 176.0, 60), unitless(undated(pounds("w2", 165.0, 0)))]
    )
    s["obs-weight-date-unreadable"] = ct_request(
        observations=[
            weight("w1", 80.0, 30),
            {**weight("w2", 74.0, 0), "effectiveDateTime": "2026-11-31"},
        ]
    )
    # no loss in any placement, or nothing to compare: the variant applies
    s["obs-weight-undated-single-reading"] = ct_request(
        observations=[undated(weight("w1", 74.0, 0))]
    )
    s["obs-weight-undated-within-share"] = ct_request(
        observations=[
            weight("w1", 82.0, 150),
            weight("w2", 81.2, 3),
            undated(weight("w3", 79.0, 0)),
            undated(weight("w4", 83.0, 0)),
        ]
    )
    s["obs-weight-undated-unit-not-a-mass"] = ct_request(
        observations=[
            weight("w1", 82.0, 150),
            weight("w2", 81.0, 3),
            in_unit(undated(weight("w3", 74.0, 0)), "cm"),
        ]
    )
    s["obs-weight-undated-dated-gain"] = ct_request(
        observations=[weight("w1", 80.0, 200), weight("w2", 84.0, 3), undated(weight("w3", 82, 0))]
    )
    s["obs-weight-undated-entered-in-error"] = ct_request(
        observations=[
            weight("w1", 80.0, 30),
            {**undated(weight("w2", 74.0, 0)), "status": "entered-in-error"},
        ]
    )
    return s
