"""Scenarios of issue 20's partial dates (i20pd): a date FHIR allows as a month or a year
("2026-11", "2026") means any time in it, not its first instant, for every windowed rule.

A finding counts as within a window when any of its span is (PROJECT DEFAULT, knowledge file
beside the windows; first rule, failing safe); one whose whole span is outside is not (second
rule). Evaluation time 2026-11-23T12:00Z: the fever window starts 2026-11-09, the weight and
prior-imaging windows 2025-11-23. Built with the helpers of ``make_scenarios.py``; their
expectations are in ``tests/scenarios.yaml`` (written from the seed, the clinical reference
and the rules' windows).
"""

from __future__ import annotations

from typing import Any

from make_scenarios import CPT, ICD, SNOMED, condition, order, request, temperature, weight
from scenarios_observations import ct_request, exam
from scenarios_prior import MRI, procedure


def dated(resource: dict[str, Any], when: str) -> dict[str, Any]:
    """The reading dated ``when`` as written (a month ``2026-11`` or a year ``2026``)."""
    return {**resource, "effectiveDateTime": when}


def resolved_since(cid: str, system: str, code: str, display: str, onset: str) -> dict[str, Any]:
    """A resolved Condition whose only date is its onset, written ``onset``."""
    resource = condition(cid, system, code, display, status="resolved", onset_days=None)
    return {**resource, "onsetDateTime": onset}


def ct_with_prior(performed: str) -> dict[str, Any]:
    """order-select of a CT cervical spine; an MRI of the cervical spine performed then."""
    return request(
        "order-select",
        [order("ct-1", (CPT, "72125"))],
        procedures=[procedure("proc-1", *MRI, performed=performed)],
    )


def partial_date_scenarios() -> dict[str, dict[str, Any]]:
    s: dict[str, dict[str, Any]] = {}
    # any of the span within the window: outside the variant
    s["partial-fever-month-in-window"] = ct_request(
        observations=[dated(temperature("t1", 39.5), "2026-11")]
    )
    s["partial-fever-finding-month-in-window"] = ct_request(
        observations=[
            dated(exam("o1", {"coding": [{"system": SNOMED, "code": "386661006"}]}), "2026-11")
        ]
    )
    s["partial-weight-month-may-be-latest"] = ct_request(
        observations=[weight("w1", 80.0, 30), dated(weight("w2", 74.0, 0), "2026-10")]
    )
    s["partial-prior-mri-year"] = ct_with_prior("2026")
    s["partial-condition-fever-resolved-month"] = request(
        "order-select",
        [order("ct-1", (CPT, "72125"))],
        conditions=[resolved_since("c1", SNOMED, "386661006", "Fever", "2026-11")],
    )
    s["partial-deficit-onset-month-new"] = request(
        "order-select",
        [order("ct-1", (CPT, "72125"))],
        conditions=[
            {
                **condition("c1", ICD, "R26.89", "Other abnormalities of gait", onset_days=None),
                "onsetDateTime": "2026-11",
            }
        ],
    )
    # the whole span outside the window, or no placement in it gives a loss: rated
    s["partial-fever-month-long-ago-rated"] = ct_request(
        observations=[dated(temperature("t1", 39.5), "2025-06")]
    )
    s["partial-fever-month-before-window-rated"] = ct_request(
        observations=[dated(temperature("t1", 39.5), "2026-10")]
    )
    s["partial-weight-within-share-rated"] = ct_request(
        observations=[
            dated(weight("w1", 80.0, 0), "2026"),
            weight("w2", 78.0, 30),
            dated(weight("w3", 77.0, 0), "2026-11"),
        ]
    )
    s["partial-weight-month-before-dated-rated"] = ct_request(
        observations=[dated(weight("w1", 74.0, 0), "2026-09"), weight("w2", 80.0, 30)]
    )
    s["partial-prior-mri-year-2024-rated"] = ct_with_prior("2024")
    s["partial-condition-fever-resolved-month-before-rated"] = request(
        "order-select",
        [order("ct-1", (CPT, "72125"))],
        conditions=[resolved_since("c1", SNOMED, "386661006", "Fever", "2026-10")],
    )
    return s
