"""Scenarios: Initial imaging: cervical-spine imaging already in the record; the clinic's calendar.

Built with the helpers of ``make_scenarios.py``; their expectations are in ``tests/scenarios.yaml``.
"""

from __future__ import annotations

from typing import Any

from make_scenarios import (  # noqa: F401
    CPT,
    ICD,
    LOINC,
    RADLEX,
    SNOMED,
    condition,
    order,
    request,
)


def coded(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def procedure(
    pid: str,
    system: str,
    code: str,
    display: str,
    *,
    status: str = "completed",
    performed: str | None = None,
    subject: str = "Patient/pat-1",
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Procedure",
        "id": pid,
        "status": status,
        "code": coded(system, code, display),
        "subject": {"reference": subject},
    }
    if performed:
        resource["performedDateTime"] = performed
    return resource


def report(
    rid: str, system: str, code: str, display: str, *, status: str = "final", effective: str
) -> dict[str, Any]:
    return {
        "resourceType": "DiagnosticReport",
        "id": rid,
        "status": status,
        "category": [
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "RAD"}]}
        ],
        "code": coded(system, code, display),
        "subject": {"reference": "Patient/pat-1"},
        "effectiveDateTime": effective,
        "issued": effective,
    }


def imaging_study(
    sid: str,
    system: str,
    code: str,
    display: str,
    *,
    status: str = "available",
    started: str | None = None,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "ImagingStudy",
        "id": sid,
        "status": status,
        "subject": {"reference": "Patient/pat-1"},
        "procedureCode": [coded(system, code, display)],
    }
    if started:
        resource["started"] = started
    return resource


MRI = (CPT, "72141", "MRI cervical spine without contrast")
CT = (CPT, "72125", "CT cervical spine without contrast")


def prior_imaging_scenarios() -> dict[str, dict[str, Any]]:
    """Evaluation time 2026-11-23T12:00Z; the look-back (PROJECT DEFAULT) is 365 days."""
    s: dict[str, dict[str, Any]] = {}
    s["prior-mri-procedure-3-months"] = request(
        "order-select",
        [order("mri-1", MRI[:2])],
        procedures=[procedure("proc-1", *MRI, performed="2026-08-23T09:15:00Z")],
    )
    s["prior-ct-diagnostic-report"] = request(
        "order-select",
        [order("xr-1", (CPT, "72040"))],
        diagnostic_reports=[
            report(
                "dr-1", LOINC, "30592-0", "CT Cervical spine WO contrast", effective="2026-05-07"
            )
        ],
    )
    s["prior-imaging-study-procedure-code"] = request(
        "order-sign",
        [order("ct-1", CT[:2])],
        imaging_studies=[
            imaging_study(
                "is-1", RADLEX, "RPID2511", "XR C-spine 2-3 views", started="2026-10-12T09:30:00Z"
            )
        ],
    )
    s["prior-imaging-study-undated"] = request(
        "order-select",
        [order("ct-1", CT[:2])],
        imaging_studies=[imaging_study("is-1", *CT)],
    )
    s["prior-study-entered-in-error-rated"] = request(
        "order-select",
        [order("ct-1", CT[:2])],
        procedures=[
            procedure("proc-1", *MRI, status="entered-in-error", performed="2026-10-01T10:00:00Z")
        ],
    )
    s["prior-studies-not-done-or-cancelled-rated"] = request(
        "order-select",
        [order("ct-1", CT[:2])],
        procedures=[procedure("proc-1", *MRI, status="not-done", performed="2026-10-01")],
        diagnostic_reports=[
            report(
                "dr-1", LOINC, "30592-0", "CT C-spine", status="cancelled", effective="2026-10-02"
            )
        ],
        imaging_studies=[
            imaging_study("is-1", *CT, status="cancelled", started="2026-10-02T08:00:00Z")
        ],
    )
    s["prior-study-older-than-lookback-rated"] = request(
        "order-select",
        [order("ct-1", CT[:2])],
        procedures=[procedure("proc-1", *MRI, performed="2025-06-15T10:00:00Z")],
    )
    s["prior-knee-xray-rated"] = request(
        "order-select",
        [order("ct-1", CT[:2])],
        procedures=[
            procedure("proc-1", CPT, "73560", "XR knee 1-2 views", performed="2026-10-01T10:00:00Z")
        ],
        diagnostic_reports=[
            report("dr-1", CPT, "73562", "XR knee 3 views", effective="2026-10-01T10:00:00Z")
        ],
    )
    s["prior-study-of-another-patient-rated"] = request(
        "order-select",
        [order("ct-1", CT[:2])],
        procedures=[
            procedure(
                "proc-9", *MRI, performed="2026-10-01T10:00:00Z", subject="Patient/someone-else"
            )
        ],
    )
    s["prior-study-rejected-by-the-models-still-counts"] = request(
        "order-select",
        [order("ct-1", CT[:2])],
        procedures=[
            {**procedure("proc-1", *MRI, performed="2026-09-01T10:00:00Z"), "unknownElement": True}
        ],
    )
    s["prior-study-coded-with-an-oid"] = request(
        "order-select",
        [order("ct-1", CT[:2])],
        diagnostic_reports=[
            report(
                "dr-1",
                "urn:oid:2.16.840.1.113883.6.1",
                "30667-0",
                "MR Cervical spine WO contrast",
                effective="2026-07-14",
            )
        ],
    )
    # the clinic's calendar, here the default (UTC): 18 on the birthday itself
    s["turns-18-today-rated"] = request("order-select", [order("ct-1", CT[:2])], birth="2008-11-23")
    s["turns-18-tomorrow-excluded"] = request(
        "order-select", [order("ct-1", CT[:2])], birth="2008-11-24"
    )
    return s
