"""Scenarios: reading the record failing safe (statuses, code shapes, Patients, vital signs).

Built with the helpers of ``make_scenarios.py``; their expectations are in ``tests/scenarios.yaml``.
Container faults that end in a fetch or a 412 are in ``tests/test_fetch.py``.
"""

from __future__ import annotations

from typing import Any

from make_scenarios import (  # noqa: F401
    CPT,
    ICD,
    LOINC,
    SNOMED,
    ago,
    condition,
    order,
    patient,
    request,
    temperature,
    vital,
)

LOCAL_STATUS = "http://ehr.example.org/fhir/CodeSystem/problem-status"


def ct_request(**record: Any) -> dict[str, Any]:
    """order-select of a CT cervical spine without contrast, given for cervicogenic headache."""
    return request("order-select", [order("ct-1", (CPT, "72125"))], **record)


def radiculopathy(**status: Any) -> dict[str, Any]:
    return condition("c1", ICD, "M54.12", "Radiculopathy, cervical region", **status)


def with_status(resource: dict[str, Any], element: str, coding: dict[str, Any]) -> dict[str, Any]:
    resource[element] = {"coding": [coding]}
    return resource


def status_scenarios() -> dict[str, dict[str, Any]]:
    hl7_clinical = "http://terminology.hl7.org/CodeSystem/condition-clinical"
    hl7_verification = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
    s: dict[str, dict[str, Any]] = {}
    s["record-status-active-with-space"] = ct_request(conditions=[radiculopathy(status="Active ")])
    s["record-status-resolved-upper-case"] = ct_request(
        conditions=[radiculopathy(status=" RESOLVED", onset_days=400)]
    )
    s["record-status-local-system-resolved"] = ct_request(
        conditions=[
            with_status(
                radiculopathy(onset_days=400),
                "clinicalStatus",
                {"system": LOCAL_STATUS, "code": "resolved"},
            )
        ]
    )
    s["record-status-unknown-hl7-code"] = ct_request(
        conditions=[
            with_status(
                radiculopathy(onset_days=400),
                "clinicalStatus",
                {"system": hl7_clinical, "code": "chronic"},
            )
        ]
    )
    s["record-verification-refuted-local-system"] = ct_request(
        conditions=[
            with_status(
                radiculopathy(), "verificationStatus", {"system": LOCAL_STATUS, "code": "refuted"}
            )
        ]
    )
    s["record-verification-refuted-mixed-case"] = ct_request(
        conditions=[radiculopathy(verification="Refuted")]
    )
    s["record-verification-entered-in-error-spaces"] = ct_request(
        conditions=[
            with_status(
                radiculopathy(),
                "verificationStatus",
                {"system": hl7_verification, "code": " Entered In_Error"},
            )
        ]
    )
    fever = temperature("t1", 38.9, days=1)
    s["record-observation-status-upper-case"] = ct_request(
        observations=[{**fever, "status": "FINAL"}]
    )
    s["record-observation-entered-in-error"] = ct_request(
        observations=[{**fever, "status": "Entered-In-Error"}]
    )
    return s


def code_shape_scenarios() -> dict[str, dict[str, Any]]:
    s: dict[str, dict[str, Any]] = {}
    base = radiculopathy()
    coding = base["code"]["coding"][0]
    s["record-code-list-of-concepts"] = ct_request(conditions=[{**base, "code": [base["code"]]}])
    s["record-code-bare-string"] = ct_request(
        conditions=[{**base, "code": "Cervical radiculopathy, right C6"}]
    )
    s["record-code-coding-not-a-list"] = ct_request(
        conditions=[{**base, "code": {"coding": coding}}]
    )
    s["record-code-numeric-snomed"] = ct_request(
        conditions=[
            {
                **base,
                "code": {"coding": [{"system": SNOMED, "code": 54404000}]},
            }
        ]
    )
    cgh = condition("cgh-1", SNOMED, "279016001", "Cervicogenic headache")
    s["record-code-wrong-shape-is-no-indication"] = request(
        "order-sign",
        [order("ct-1", (CPT, "72125"), reason=None)],
        conditions=[{**cgh, "code": [cgh["code"]]}],
    )
    s["record-code-well-formed-indication"] = request(
        "order-sign", [order("ct-1", (CPT, "72125"), reason=None)], conditions=[cgh]
    )
    s["record-code-coding-a-number"] = ct_request(conditions=[{**base, "code": {"coding": 5}}])
    s["record-draft-condition-coding-a-number"] = request(
        "order-select",
        [order("ct-1", (CPT, "72125"))],
        extra_entries=[{**base, "id": "c9", "code": {"coding": 5}}],
    )
    s["record-draft-order-contained-a-string"] = request(
        "order-select", [order("ct-1", (CPT, "72125"), contained="x")]
    )
    return s


def patient_scenarios() -> dict[str, dict[str, Any]]:
    s: dict[str, dict[str, Any]] = {}
    s["record-two-patients-two-birth-dates"] = ct_request(conditions=[patient("2012-03-09")])
    s["record-two-patients-same-birth-date"] = ct_request(conditions=[patient("1981-05-04")])
    return s


def unitless(resource: dict[str, Any]) -> dict[str, Any]:
    quantity = {k: v for k, v in resource["valueQuantity"].items() if k not in ("unit", "code")}
    return {**resource, "valueQuantity": {k: v for k, v in quantity.items() if k != "system"}}


def temperature_scenarios() -> dict[str, dict[str, Any]]:
    s: dict[str, dict[str, Any]] = {}
    sites = [
        ("oral", "8331-1", "Oral temperature", 38.6, "Cel"),
        ("rectal", "8332-9", "Rectal temperature", 38.8, "Cel"),
        ("tympanic", "8333-7", "Tympanic membrane temperature", 101.5, "[degF]"),
        ("axillary", "8328-7", "Axillary temperature", 38.2, "Cel"),
        ("core", "8329-5", "Body temperature - Core", 38.4, "Cel"),
    ]
    for site, code, display, value, unit in sites:
        s[f"record-temp-{site}-{code}"] = ct_request(
            observations=[vital("t1", code, display, value, unit, 1)]
        )
    s["record-temp-oral-normal"] = ct_request(
        observations=[vital("t1", "8331-1", "Oral temperature", 37.2, "Cel", 1)]
    )
    s["record-temp-no-unit-celsius"] = ct_request(observations=[unitless(temperature("t1", 38.5))])
    s["record-temp-no-unit-fahrenheit"] = ct_request(
        observations=[unitless(temperature("t1", 101.3))]
    )
    s["record-temp-no-unit-normal"] = ct_request(observations=[unitless(temperature("t1", 37.0))])
    s["record-temp-no-unit-implausible"] = ct_request(
        observations=[unitless(temperature("t1", 60.0))]
    )
    s["record-temp-kelvin"] = ct_request(observations=[temperature("t1", 311.6, "K")])
    s["record-temp-kelvin-normal"] = ct_request(observations=[temperature("t1", 310.0, "K")])
    numeric_string = temperature("t1", 38.5)
    numeric_string["valueQuantity"]["value"] = "38.5"
    s["record-temp-numeric-string"] = ct_request(observations=[numeric_string])
    for name, days in (("record-temp-issued-only", 2), ("record-temp-issued-long-ago", 40)):
        issued = {k: v for k, v in temperature("t1", 38.7).items() if k != "effectiveDateTime"}
        s[name] = ct_request(observations=[{**issued, "issued": ago(days)}])
    for name, value in (("record-temp-undated-fever", 39.5), ("record-temp-undated-normal", 36.8)):
        undated = {k: v for k, v in temperature("t1", value).items() if k != "effectiveDateTime"}
        s[name] = ct_request(observations=[undated])
    return s


def record_scenarios() -> dict[str, dict[str, Any]]:
    s: dict[str, dict[str, Any]] = {}
    for more in (
        status_scenarios(),
        code_shape_scenarios(),
        patient_scenarios(),
        temperature_scenarios(),
    ):
        s.update(more)
    return s
