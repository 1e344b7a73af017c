"""Scenarios: Observations read leniently, the weight-loss window, vascular studies (issue 20).

Built with the helpers of ``make_scenarios.py``; their expectations are in ``tests/scenarios.yaml``,
written from the seed and the clinical reference: a fever, a neurologic finding or an
unexplained weight loss puts the patient outside the variant whatever shape the record gives
it; a vascular study for a recorded cervical artery dissection or stenosis asks another question.
"""

from __future__ import annotations

from typing import Any

from make_scenarios import (
    CPT,
    ICD,
    LOINC,
    SNOMED,
    condition,
    order,
    request,
    temperature,
    vital,
)

LOCAL = "urn:oid:1.2.840.114350.1.13.0.1.7.2.707679"
"""A local (flowsheet) code system, as Epic sends vital signs."""
NUMBNESS = "44077006"


def ct_request(**record: Any) -> dict[str, Any]:
    """order-select of a CT cervical spine without contrast, given for cervicogenic headache."""
    return request("order-select", [order("ct-1", (CPT, "72125"))], **record)


def with_code(resource: dict[str, Any], code: object) -> dict[str, Any]:
    return {**resource, "code": code}


def exam(oid: str, code: object, days: int = 60, **value: Any) -> dict[str, Any]:
    """An examination finding: an Observation whose code is the finding (value as given)."""
    resource = vital(oid, "8310-5", "x", 0, "Cel", days)
    del resource["valueQuantity"]
    resource["category"][0]["coding"][0]["code"] = "exam"
    return {**resource, "code": code, **value}


def temperature_forms() -> dict[str, dict[str, Any]]:
    s: dict[str, dict[str, Any]] = {}
    fever, normal = temperature("t1", 39.5), temperature("t1", 36.8)
    no_system = {"coding": [{"code": "8310-5", "display": "Body temperature"}]}
    s["obs-temp-no-system-fever"] = ct_request(observations=[with_code(fever, no_system)])
    s["obs-temp-no-system-normal"] = ct_request(observations=[with_code(normal, no_system)])
    local = {"coding": [{"system": LOCAL, "code": "6", "display": "Temp"}], "text": "Temp"}
    s["obs-temp-local-code-fahrenheit"] = ct_request(
        observations=[with_code(temperature("t1", 103.1, "[degF]"), local)]
    )
    s["obs-temp-local-code-normal-fahrenheit"] = ct_request(
        observations=[with_code(temperature("t1", 98.6, "[degF]"), local)]
    )
    printed = temperature("t1", 103.1, "degF")
    printed["valueQuantity"] = {"value": 103.1, "unit": "°F"}  # no UCUM code, a printed unit
    s["obs-temp-local-code-degree-sign"] = ct_request(observations=[with_code(printed, local)])
    s["obs-temp-local-code-fever-old"] = ct_request(
        observations=[with_code(temperature("t1", 39.5, days=40), local)]
    )
    coding = {"system": LOINC, "code": "8310-5", "display": "Body temperature"}
    s["obs-temp-coding-an-object"] = ct_request(
        observations=[with_code(temperature("t1", 38.9), {"coding": coding})]
    )
    s["obs-temp-coding-in-place-of-concept"] = ct_request(
        observations=[with_code(temperature("t1", 38.9), coding)]
    )
    s["obs-temp-text-only-code-degf"] = ct_request(
        observations=[with_code(temperature("t1", 102.2, "degF"), {"text": "Temperature"})]
    )
    s["obs-temp-coding-an-object-normal"] = ct_request(
        observations=[with_code(temperature("t1", 37.0), {"coding": coding})]
    )
    s["obs-temp-coding-in-place-of-concept-normal"] = ct_request(
        observations=[with_code(temperature("t1", 36.9), coding)]
    )
    s["obs-temp-text-only-code-normal-degf"] = ct_request(
        observations=[with_code(temperature("t1", 98.2, "degF"), {"text": "Temperature"})]
    )
    bare_f = temperature("t1", 101.5, "F")
    s["obs-temp-local-code-bare-f"] = ct_request(observations=[with_code(bare_f, local)])
    platelets = {"coding": [{"system": LOCAL, "code": "PLT", "display": "Platelets"}]}
    s["obs-platelets-thousands-k-unit"] = ct_request(
        observations=[with_code(temperature("t1", 350, "K"), platelets)]
    )
    return s


def finding_forms() -> dict[str, dict[str, Any]]:
    s: dict[str, dict[str, Any]] = {}
    no_system = {"coding": [{"code": NUMBNESS, "display": "Numbness"}]}
    s["obs-numbness-no-system"] = ct_request(observations=[exam("n1", no_system)])
    s["obs-numbness-no-system-denied"] = ct_request(
        observations=[exam("n1", no_system, valueBoolean=False)]
    )
    numeric = {"coding": [{"system": SNOMED, "code": int(NUMBNESS)}]}
    s["obs-numbness-numeric-snomed"] = ct_request(observations=[exam("n1", numeric)])
    s["obs-numbness-numeric-snomed-denied"] = ct_request(
        observations=[exam("n1", numeric, valueBoolean=False)]
    )
    s["obs-numbness-coding-an-object"] = ct_request(
        observations=[exam("n1", {"coding": {"system": SNOMED, "code": NUMBNESS}})]
    )
    s["obs-numbness-coding-in-place-of-concept"] = ct_request(
        observations=[exam("n1", {"system": SNOMED, "code": NUMBNESS, "display": "Numbness"})]
    )
    s["obs-numbness-local-system"] = ct_request(
        observations=[exam("n1", {"coding": [{"system": LOCAL, "code": NUMBNESS}]})]
    )
    s["obs-finding-text-only-code"] = ct_request(
        observations=[exam("n1", {"text": "Numbness in the right hand"})]
    )
    s["obs-finding-text-only-code-denied"] = ct_request(
        observations=[exam("n1", {"text": "No numbness in the hands"})]
    )
    neuro_exam = {"coding": [{"system": LOINC, "code": "29545-1", "display": "Physical findings"}]}
    s["obs-finding-value-no-system"] = ct_request(
        observations=[exam("n1", neuro_exam, valueCodeableConcept={"coding": [{"code": NUMBNESS}]})]
    )
    return s


def pounds(oid: str, lb: float, days: int) -> dict[str, Any]:
    return vital(oid, "29463-7", "Body weight", lb, "[lb_av]", days)


def weight_window() -> dict[str, dict[str, Any]]:
    """Unexplained weight loss: more than 5% of body weight over 12 months (PROJECT DEFAULT)."""
    s: dict[str, dict[str, Any]] = {}
    s["obs-weight-loss-5-5-percent-in-11-months"] = ct_request(
        observations=[pounds("w1", 200.0, 335), pounds("w2", 197.0, 180), pounds("w3", 189.0, 3)]
    )
    s["obs-weight-loss-4-percent-in-a-year"] = ct_request(
        observations=[pounds("w1", 200.0, 360), pounds("w2", 198.0, 180), pounds("w3", 192.0, 3)]
    )
    s["obs-weight-loss-6-percent-over-3-years"] = ct_request(
        observations=[
            pounds("w1", 200.0, 1095),
            pounds("w2", 196.0, 730),
            pounds("w3", 192.0, 400),
            pounds("w4", 190.0, 200),
            pounds("w5", 188.0, 3),
        ]
    )
    s["obs-weight-loss-6-percent-started-13-months-ago"] = ct_request(
        observations=[pounds("w1", 200.0, 395), pounds("w2", 188.0, 3)]
    )
    return s


def mra(oid: str = "mra-1", code: str = "70547", **extra: Any) -> dict[str, Any]:
    return order(oid, (CPT, code), **extra)


def vascular_scenarios() -> dict[str, dict[str, Any]]:
    s: dict[str, dict[str, Any]] = {}
    dissection = condition("v1", ICD, "I77.71", "Dissection of carotid artery", onset_days=20)
    s["vasc-mra-carotid-dissection"] = request("order-select", [mra()], conditions=[dissection])
    s["vasc-cta-vertebral-dissection"] = request(
        "order-select",
        [mra("cta-1", "70498")],
        conditions=[condition("v1", ICD, "I77.74", "Dissection of vertebral artery")],
    )
    s["vasc-mra-carotid-stenosis-snomed"] = request(
        "order-sign",
        [mra("mra-1", "70549")],
        conditions=[condition("v1", SNOMED, "64586002", "Carotid artery stenosis")],
    )
    s["vasc-mra-stenosis-i65"] = request(
        "order-sign",
        [mra("mra-1", "70548")],
        conditions=[
            condition("v1", ICD, "I65.22", "Occlusion and stenosis of left carotid artery")
        ],
    )
    s["vasc-mra-stenosis-local-text"] = request(
        "order-select",
        [mra()],
        conditions=[condition("v1", LOCAL, "88123", "Left vertebral artery stenosis")],
    )
    s["vasc-mra-dissection-resolved"] = request(
        "order-select",
        [mra()],
        conditions=[
            condition(
                "v1",
                ICD,
                "I77.71",
                "Dissection of carotid artery",
                status="resolved",
                onset_days=400,
            )
        ],
    )
    headache = {"system": SNOMED, "code": "279016001", "display": "Cervicogenic headache"}
    vertebral = {"system": ICD, "code": "I77.74", "display": "Dissection of vertebral artery"}
    reason = [{"coding": [headache]}, {"coding": [vertebral]}]
    s["vasc-mra-dissection-in-order-reason"] = request(
        "order-select", [mra(reason=None, reasonCode=reason)]
    )
    s["vasc-mra-no-vascular-finding"] = request(
        "order-select",
        [mra()],
        conditions=[condition("c1", ICD, "I10", "Essential hypertension (disorder)")],
    )
    s["vasc-mra-dissection-refuted"] = request(
        "order-select",
        [mra()],
        conditions=[
            condition("v1", ICD, "I77.71", "Dissection of carotid artery", verification="refuted")
        ],
    )
    s["vasc-mra-aortic-valve-stenosis"] = request(
        "order-select",
        [mra()],
        conditions=[condition("c1", ICD, "I35.0", "Nonrheumatic aortic (valve) stenosis")],
    )
    s["vasc-ct-cspine-with-dissection"] = request(
        "order-select", [order("ct-1", (CPT, "72125"))], conditions=[dissection]
    )
    return s


def observation_scenarios() -> dict[str, dict[str, Any]]:
    s: dict[str, dict[str, Any]] = {}
    for more in (temperature_forms(), finding_forms(), weight_window(), vascular_scenarios()):
        s.update(more)
    return s
