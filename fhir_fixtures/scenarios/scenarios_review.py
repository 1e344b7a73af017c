"""Scenarios: the second attack review's patients (codes, texts and records it still got wrong).

Built with the helpers of ``make_scenarios.py``; their expectations are in ``tests/scenarios.yaml``,
written from the seed and the clinical reference. Each is a patient outside the variant whom the
service told "Usually not appropriate", or one of the variant's own whom it silenced.
"""

from __future__ import annotations

from typing import Any

from make_scenarios import ICD, LOINC, SNOMED, ago, condition, request, vital, weight
from scenarios_text import ct, exam_finding, noted, text_condition

WHO_ICD = "http://hl7.org/fhir/sid/icd-10"
DICOM = "http://dicom.nema.org/resources/ontology/DCM"


def bare_condition(cid: str, coding: dict[str, str]) -> dict[str, Any]:
    """A Condition whose code is one coding and nothing else: no display, no text."""
    resource = condition(cid, ICD, "M54.2", "x")
    resource["code"] = {"coding": [coding]}
    return resource


def vital_signs_panel(oid: str, celsius: float, days: int = 1) -> dict[str, Any]:
    """A vital-signs panel (LOINC 85353-1) carrying the temperature as a component."""
    resource = vital(oid, "85353-1", "Vital signs panel", 0, "Cel", days)
    del resource["valueQuantity"]
    resource["component"] = [
        {
            "code": {"coding": [{"system": LOINC, "code": "8867-4", "display": "Heart rate"}]},
            "valueQuantity": {"value": 88, "unit": "/min", "code": "/min"},
        },
        {
            "code": {
                "coding": [{"system": LOINC, "code": "8310-5", "display": "Body temperature"}]
            },
            "valueQuantity": {
                "value": celsius,
                "unit": "Cel",
                "system": "http://unitsofmeasure.org",
                "code": "Cel",
            },
        },
    ]
    return resource


def review_scenarios() -> dict[str, dict[str, Any]]:
    s: dict[str, dict[str, Any]] = {}
    one = "order-select"
    # --- codes
    s["review-icd-m54-1-category"] = request(
        one, [ct()], conditions=[bare_condition("c-1", {"system": ICD, "code": "M54.1"})]
    )
    s["review-who-icd10-m54-1"] = request(
        one, [ct()], conditions=[bare_condition("c-1", {"system": WHO_ICD, "code": "M54.1"})]
    )
    s["review-icd-m54-16-lumbar-rated"] = request(
        one, [ct()], conditions=[bare_condition("c-1", {"system": ICD, "code": "M54.16"})]
    )
    s["review-icd-m47-1-category"] = request(
        one, [ct()], conditions=[bare_condition("c-1", {"system": ICD, "code": "M47.1"})]
    )
    s["review-snomed-breast-cancer-no-display"] = request(
        one, [ct()], conditions=[bare_condition("c-1", {"system": SNOMED, "code": "254837009"})]
    )
    s["review-coding-without-system"] = request(
        one, [ct()], conditions=[bare_condition("c-1", {"code": "M54.12"})]
    )
    s["review-coding-without-system-indication-only-rated"] = request(
        one, [ct()], conditions=[bare_condition("c-1", {"code": "M54.2"})]
    )
    # --- texts
    for name, text in (
        ("no-fever-reports-night-sweats", "No fever; reports night sweats"),
        ("negative-fever-positive-weight-loss", "ROS negative for fever, positive for weight loss"),
        ("mother-cancer-patient-lymphoma", "Mother had breast cancer; patient has lymphoma"),
        ("radiculopathy-prior-lumbar-fusion", "Radiculopathy, prior lumbar fusion 2015"),
        ("radiating-down-left-arm", "Neck pain radiating down left arm"),
        ("lost-10-lbs", "Lost 10 lbs in 2 months"),
        ("denies-illness-mvc-last-week", "Denies illness, MVC last week"),
    ):
        s[f"review-text-{name}"] = request(one, [ct()], conditions=[text_condition("c-1", text)])
    s["review-text-temperature-number"] = request(
        one,
        [ct()],
        conditions=[noted(condition("c-1", ICD, "M54.2", "Cervicalgia", onset_days=3), "T 38.6")],
    )
    s["review-text-red-flag-screen-negative-rated"] = request(
        one,
        [ct(note=[{"text": "Red flag screen negative: fever, weight loss, night sweats."}])],
    )
    s["review-text-progressive-weakness-escalates"] = request(
        one,
        [ct()],
        conditions=[text_condition("c-1", "Progressive left arm weakness", onset_days=120)],
    )
    # --- the record's shapes
    s["review-vital-signs-panel-fever"] = request(
        one, [ct()], observations=[vital_signs_panel("o-1", 38.7)]
    )
    s["review-observation-text-value-fever"] = request(
        one,
        [ct()],
        observations=[
            exam_finding("o-1", None, valueString="Fever and chills for three days", days=2)
        ],
    )
    s["review-observation-finding-denied-in-text-rated"] = request(
        one,
        [ct()],
        observations=[
            exam_finding(
                "o-1",
                None,
                code={"coding": [{"system": SNOMED, "code": "386661006", "display": "Fever"}]},
                valueString="Denies",
            )
        ],
    )
    s["review-imaging-study-modality-and-body-site"] = request(
        one,
        [ct()],
        imaging_studies=[
            {
                "resourceType": "ImagingStudy",
                "id": "is-1",
                "status": "available",
                "subject": {"reference": "Patient/pat-1"},
                "started": ago(30),
                "modality": [{"system": DICOM, "code": "CT"}],
                "series": [
                    {
                        "uid": "2.25.1",
                        "modality": {"system": DICOM, "code": "CT"},
                        "bodySite": {"system": SNOMED, "code": "122494005"},
                    }
                ],
            }
        ],
    )
    # --- the card's words
    s["review-birth-month-only-excluded"] = request(one, [ct()], birth="2008-11")
    s["review-birth-year-only-adult-rated"] = request(one, [ct()], birth="2007")
    pounds = [weight("w-1", 180, 120), weight("w-2", 165, 3)]
    for reading in pounds:
        reading["valueQuantity"].update(unit="lb", code="[lb_av]")
    s["review-weight-loss-in-pounds"] = request(one, [ct()], observations=pounds)
    unnamed = condition("c-1", ICD, "M54.2", "x", onset_days=5)
    del unnamed["code"]
    s["review-condition-without-code-named-by-note"] = request(
        one, [ct()], conditions=[noted(unnamed, "Fever 38.9 since Sunday")]
    )
    return s
