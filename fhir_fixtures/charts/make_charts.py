"""Writes the whole-chart hook requests in ``fhir_fixtures/charts/`` (run once; output committed).

Each chart is a primary-care patient's record as an EHR sends it in the prefetch, in the shapes
of the Synthea R4 records and the HL7 R4 examples (US Core Conditions and vital signs): a
problem list of 20+ common problems coded ICD-10-CM + SNOMED CT + a local code (some with
Epic's "(HCC)" display suffix), encounter diagnoses with their Encounters (``_include``), health
concerns, a family history (a Condition Z80.3 and a FamilyMemberHistory of cancer in a
relative), six years of vital signs in US units ([degF], [lb_av], [in_i]) and labs, and
screening procedures. Ten charts are the variant's own patients; each ``*-with-*`` chart is one
of them with ONE finding buried in it. What each chart should produce is written separately,
from the seed, in ``tests/test_charts.py``.

Deterministic (a seeded generator, dates relative to 2026-11-23T12:00:00Z), no network:

    python fhir_fixtures/charts/make_charts.py
"""

from __future__ import annotations

import json
import random
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent
NOW = datetime(2026, 11, 23, 12, 0)
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
CPT = "http://www.ama-assn.org/go/cpt"
UCUM = "http://unitsofmeasure.org"
LOCAL = "urn:oid:1.2.840.114350.1.13.861.1.7.2.696784"
"""The problem list's local code system (an Epic-style OID of an example organisation)."""
FLOWSHEET = "urn:oid:1.2.840.114350.1.13.861.1.7.2.707679"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
US_CORE_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/condition-category"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"

# (ICD-10-CM, SNOMED CT, display) of common primary-care problems
PROBLEMS: list[tuple[str, str, str]] = [
    ("I10", "59621000", "Essential hypertension"),
    ("E11.9", "44054006", "Type 2 diabetes mellitus without complication"),
    ("E78.5", "55822004", "Hyperlipidemia, unspecified"),
    ("I48.91", "49436004", "Atrial fibrillation"),
    ("E66.9", "414916001", "Obesity"),
    ("K21.9", "235595009", "Gastro-esophageal reflux disease without esophagitis"),
    ("E03.9", "40930008", "Hypothyroidism, unspecified"),
    ("F33.0", "191616006", "Major depressive disorder, recurrent, mild"),
    ("F41.1", "21897009", "Generalized anxiety disorder"),
    ("M17.9", "239873007", "Osteoarthritis of knee"),
    ("N18.30", "433144002", "Chronic kidney disease, stage 3"),
    ("J45.909", "195967001", "Asthma, uncomplicated"),
    ("J30.2", "367498001", "Seasonal allergic rhinitis"),
    ("E55.9", "34713006", "Vitamin D deficiency"),
    ("G47.33", "78275009", "Obstructive sleep apnea"),
    ("R73.03", "714628002", "Prediabetes"),
    ("M10.9", "90560007", "Gout"),
    ("G43.009", "56097005", "Migraine without aura"),
    ("D50.9", "87522002", "Iron deficiency anemia"),
    ("G47.00", "193462001", "Insomnia"),
    ("M85.80", "312894000", "Osteopenia"),
    ("F17.210", "56294008", "Nicotine dependence, cigarettes"),
    ("E78.1", "302870006", "Hypertriglyceridemia"),
    ("L57.0", "201101007", "Actinic keratosis"),
    ("M72.2", "202882003", "Plantar fasciitis"),
    ("K57.30", "397881000", "Diverticulosis of colon"),
    ("H26.9", "193570009", "Cataract"),
    ("L30.9", "43116000", "Eczema"),
    ("J32.9", "40055000", "Chronic sinusitis"),
    ("E53.8", "190634004", "Vitamin B12 deficiency"),
    ("G44.209", "398057008", "Tension-type headache"),
    ("H91.90", "15188001", "Hearing loss"),
]
HCC = {"E11.9", "I48.91", "N18.30", "F33.0", "I10"}
"""Problems an Epic chart displays with "(HCC)" (a billing risk-adjustment flag)."""

ENCOUNTER_DIAGNOSES: list[tuple[str, str, str]] = [
    (
        "Z00.00",
        "185349003",
        "Encounter for general adult medical examination without abnormal findings",
    ),
    ("Z12.11", "275978004", "Encounter for screening for malignant neoplasm of colon"),
    ("Z13.31", "171207006", "Encounter for screening for depression"),
    ("Z23", "33879002", "Encounter for immunization"),
    ("J06.9", "54150009", "Acute upper respiratory infection"),
    ("J20.9", "10509002", "Acute bronchitis"),
    ("J02.9", "195662009", "Acute pharyngitis"),
    ("Z12.31", "268547008", "Encounter for screening mammogram for malignant neoplasm of breast"),
    ("J01.90", "15805002", "Acute sinusitis"),
    ("Z13.220", "171208001", "Encounter for screening for lipoid disorders"),
]
HEALTH_CONCERNS: list[tuple[str, str]] = [
    ("73595000", "Stress (finding)"),
    ("160903007", "Full-time employment (finding)"),
    ("423315002", "Limited social contact (finding)"),
]
SCREENINGS: list[tuple[str, str, str]] = [
    (SNOMED, "73761001", "Colonoscopy"),
    (SNOMED, "171207006", "Depression screening"),
    (SNOMED, "430193006", "Medication reconciliation"),
    (SNOMED, "71651007", "Mammography"),
    (SNOMED, "312681000", "Bone density scan"),
    (SNOMED, "171201007", "Anxiety screening"),
]
LABS: list[tuple[str, str, str, float, float]] = [
    ("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", 5.4, 0.3),
    ("2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "mg/dL", 190.0, 15.0),
    ("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", 0.95, 0.1),
    ("3016-3", "Thyrotropin [Units/volume] in Serum or Plasma", "m[IU]/L", 2.1, 0.6),
]


def ago(days: float) -> str:
    return (NOW - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def coding(system: str, code: str, display: str) -> dict[str, str]:
    return {"system": system, "code": code, "display": display}


@dataclass
class Chart:
    """One patient's chart as it is built: the prefetch's resources by key."""

    name: str
    rng: random.Random
    born: str
    gender: str
    pounds: float
    inches: float
    hcc: bool
    conditions: list[dict[str, Any]] = field(default_factory=list)
    included: list[dict[str, Any]] = field(default_factory=list)
    observations: list[dict[str, Any]] = field(default_factory=list)
    procedures: list[dict[str, Any]] = field(default_factory=list)
    reports: list[dict[str, Any]] = field(default_factory=list)
    serial: int = 0

    def next_id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}-{self.name}-{self.serial:03d}"


def condition(
    chart: Chart,
    codings: list[dict[str, str]],
    text: str,
    category: tuple[str, str, str],
    days: int,
    status: str = "active",
    encounter: str | None = None,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": chart.next_id("cond"),
        "meta": {"profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-condition"]},
        "clinicalStatus": {"coding": [{"system": CLINICAL, "code": status}]},
        "verificationStatus": {"coding": [{"system": VERIFICATION, "code": "confirmed"}]},
        "category": [{"coding": [coding(*category)]}],
        "code": {"coding": codings, "text": text},
        "subject": {"reference": "Patient/pat-1"},
        "onsetDateTime": ago(days),
        "recordedDate": ago(days),
    }
    if encounter:
        resource["encounter"] = {"reference": f"Encounter/{encounter}"}
    if status == "resolved":
        resource["abatementDateTime"] = ago(max(days - 14, 1))
    return resource


PROBLEM = (CATEGORY, "problem-list-item", "Problem List Item")
ENCOUNTER_DX = (CATEGORY, "encounter-diagnosis", "Encounter Diagnosis")
HEALTH_CONCERN = (US_CORE_CATEGORY, "health-concern", "Health Concern")


def problem(chart: Chart, icd: str, sct: str, display: str, days: int) -> dict[str, Any]:
    shown = f"{display} (HCC)" if chart.hcc and icd in HCC else display
    local = str(1000 + sum(ord(c) for c in icd) * 7)
    codings = [coding(ICD, icd, shown), coding(SNOMED, sct, display), coding(LOCAL, local, shown)]
    return condition(chart, codings, shown, PROBLEM, days)


def add_problem_list(chart: Chart, count: int) -> None:
    chosen = chart.rng.sample(PROBLEMS, count)
    if chart.hcc:  # the HCC-flagged problems first: every HCC chart shows several
        chosen = [p for p in PROBLEMS if p[0] in HCC] + [p for p in chosen if p[0] not in HCC]
    for icd, sct, display in chosen[:count]:
        chart.conditions.append(problem(chart, icd, sct, display, chart.rng.randint(200, 2400)))
    cgh = [
        coding(ICD, "G44.86", "Cervicogenic headache"),
        coding(SNOMED, "279016001", "Cervicogenic headache"),
    ]
    chart.conditions.append(condition(chart, cgh, "Cervicogenic headache", PROBLEM, 75))


def encounter(chart: Chart, days: int, kind: str) -> str:
    eid = chart.next_id("enc")
    chart.included.append(
        {
            "resourceType": "Encounter",
            "id": eid,
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "type": [{"coding": [coding(SNOMED, "390906007", kind)], "text": kind}],
            "subject": {"reference": "Patient/pat-1"},
            "period": {"start": ago(days), "end": ago(days - 0.02)},
        }
    )
    return eid


def add_encounter_diagnoses(chart: Chart) -> None:
    for index, (icd, sct, display) in enumerate(ENCOUNTER_DIAGNOSES):
        days = 60 + index * 190
        eid = encounter(chart, days, "Follow-up encounter")
        codings = [coding(ICD, icd, display), coding(SNOMED, sct, display)]
        chart.conditions.append(
            condition(chart, codings, display, ENCOUNTER_DX, days, "resolved", eid)
        )


def add_health_concerns_and_family(chart: Chart) -> None:
    for sct, display in HEALTH_CONCERNS:
        chart.conditions.append(
            condition(chart, [coding(SNOMED, sct, display)], display, HEALTH_CONCERN, 400)
        )
    family = [
        coding(ICD, "Z80.3", "Family history of malignant neoplasm of breast"),
        coding(SNOMED, "429740004", "Family history of malignant neoplasm of breast"),
    ]
    text = "Family history of malignant neoplasm of breast"
    chart.conditions.append(condition(chart, family, text, PROBLEM, 900))
    chart.included.append(
        {
            "resourceType": "FamilyMemberHistory",
            "id": chart.next_id("fmh"),
            "status": "completed",
            "patient": {"reference": "Patient/pat-1"},
            "relationship": {
                "coding": [
                    coding("http://terminology.hl7.org/CodeSystem/v3-RoleCode", "MTH", "mother")
                ]
            },
            "condition": [
                {
                    "code": {
                        "coding": [coding(SNOMED, "254837009", "Malignant neoplasm of breast")]
                    },
                    "onsetAge": {"value": 52, "unit": "yr", "system": UCUM, "code": "a"},
                }
            ],
        }
    )


def vital(
    chart: Chart, code: str, display: str, value: float, unit: str, days: float
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": chart.next_id("obs"),
        "meta": {"profile": ["http://hl7.org/fhir/StructureDefinition/vitalsigns"]},
        "status": "final",
        "category": [{"coding": [coding(OBS_CATEGORY, "vital-signs", "Vital Signs")]}],
        "code": {"coding": [coding(LOINC, code, display)], "text": display},
        "subject": {"reference": "Patient/pat-1"},
        "effectiveDateTime": ago(days),
        "issued": ago(days),
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }


def blood_pressure(chart: Chart, days: float) -> dict[str, Any]:
    resource = vital(chart, "85354-9", "Blood pressure panel", 0, "mm[Hg]", days)
    del resource["valueQuantity"]
    systolic, diastolic = chart.rng.randint(112, 138), chart.rng.randint(68, 86)
    resource["component"] = [
        {
            "code": {"coding": [coding(LOINC, "8480-6", "Systolic blood pressure")]},
            "valueQuantity": {
                "value": systolic,
                "unit": "mm[Hg]",
                "system": UCUM,
                "code": "mm[Hg]",
            },
        },
        {
            "code": {"coding": [coding(LOINC, "8462-4", "Diastolic blood pressure")]},
            "valueQuantity": {
                "value": diastolic,
                "unit": "mm[Hg]",
                "system": UCUM,
                "code": "mm[Hg]",
            },
        },
    ]
    return resource


VISIT_DAYS = [3 + 183 * i for i in range(13)]
"""A visit every six months over six years, the latest three days ago."""


def add_vitals(chart: Chart, weights: dict[int, float] | None = None) -> None:
    rng = chart.rng
    for days in VISIT_DAYS:
        pounds = (weights or {}).get(days, chart.pounds * (1 + rng.uniform(-0.012, 0.012)))
        bmi = pounds * 703 / chart.inches**2
        chart.observations += [
            vital(
                chart,
                "8310-5",
                "Body temperature",
                round(rng.uniform(97.4, 98.9), 1),
                "[degF]",
                days,
            ),
            vital(chart, "29463-7", "Body weight", round(pounds, 1), "[lb_av]", days),
            vital(chart, "8302-2", "Body height", chart.inches, "[in_i]", days),
            blood_pressure(chart, days),
            vital(chart, "8867-4", "Heart rate", rng.randint(58, 88), "/min", days),
            vital(chart, "9279-1", "Respiratory rate", rng.randint(12, 18), "/min", days),
            vital(
                chart,
                "59408-5",
                "Oxygen saturation in Arterial blood by Pulse oximetry",
                rng.randint(95, 99),
                "%",
                days,
            ),
            vital(chart, "39156-5", "Body mass index (BMI) [Ratio]", round(bmi, 1), "kg/m2", days),
        ]


def add_labs_and_screenings(chart: Chart) -> None:
    rng = chart.rng
    for year in range(6):
        days = 10 + 365 * year
        results = []
        for code, display, unit, mean, spread in LABS:
            lab = vital(chart, code, display, round(rng.gauss(mean, spread), 2), unit, days)
            lab["category"] = [{"coding": [coding(OBS_CATEGORY, "laboratory", "Laboratory")]}]
            del lab["meta"]
            chart.observations.append(lab)
            results.append({"reference": f"Observation/{lab['id']}"})
        chart.reports.append(
            {
                "resourceType": "DiagnosticReport",
                "id": chart.next_id("dr"),
                "status": "final",
                "category": [
                    {
                        "coding": [
                            coding(
                                "http://terminology.hl7.org/CodeSystem/v2-0074", "LAB", "Laboratory"
                            )
                        ]
                    }
                ],
                "code": {
                    "coding": [coding(LOINC, "24323-8", "Comprehensive metabolic 2000 panel")]
                },
                "subject": {"reference": "Patient/pat-1"},
                "effectiveDateTime": ago(days),
                "issued": ago(days),
                "result": results,
            }
        )
    for index, (system, code, display) in enumerate(SCREENINGS):
        chart.procedures.append(
            {
                "resourceType": "Procedure",
                "id": chart.next_id("proc"),
                "status": "completed",
                "code": {"coding": [coding(system, code, display)], "text": display},
                "subject": {"reference": "Patient/pat-1"},
                "performedPeriod": {
                    "start": ago(100 + 300 * index),
                    "end": ago(100 + 300 * index - 0.02),
                },
            }
        )


def searchset(
    resources: list[dict[str, Any]], included: Sequence[dict[str, Any]] = ()
) -> dict[str, Any]:
    entries = [
        {
            "fullUrl": f"https://ehr.example.org/fhir/{r['resourceType']}/{r['id']}",
            "resource": r,
            "search": {"mode": "match"},
        }
        for r in resources
    ] + [  # the Encounters and FamilyMemberHistory of _include / _revinclude
        {
            "fullUrl": f"https://ehr.example.org/fhir/{r['resourceType']}/{r['id']}",
            "resource": r,
            "search": {"mode": "include"},
        }
        for r in included
    ]
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": entries,
    }


ORDERS = {
    "ct": ((CPT, "72125", "CT cervical spine without contrast"), "order-select"),
    "xr": ((CPT, "72040", "X-ray cervical spine 2-3 views"), "order-sign"),
    "mri": ((CPT, "72141", "MRI cervical spine without contrast"), "order-sign"),
    "mra": ((CPT, "70547", "MRA neck without contrast"), "order-select"),
}


def order(kind: str, reason: str) -> dict[str, Any]:
    (system, code, display), _ = ORDERS[kind]
    cgh = (
        coding(ICD, "G44.86", "Cervicogenic headache")
        if reason == "icd"
        else coding(SNOMED, "279016001", "Cervicogenic headache")
    )
    return {
        "resourceType": "ServiceRequest",
        "id": f"{kind}-1",
        "status": "draft",
        "intent": "order",
        "category": [{"coding": [coding(SNOMED, "363679005", "Imaging")]}],
        "code": {"coding": [coding(system, code, display)], "text": display},
        "subject": {"reference": "Patient/pat-1"},
        "encounter": {"reference": "Encounter/enc-now"},
        "requester": {"reference": "Practitioner/dr-1"},
        "reasonCode": [{"coding": [cgh], "text": "Cervicogenic headache"}],
    }


def hook_request(chart: Chart, orders: list[str], reason: str) -> dict[str, Any]:
    hook = ORDERS[orders[0]][1] if len(orders) == 1 else "order-sign"
    drafts = [order(kind, reason) for kind in orders]
    context: dict[str, Any] = {
        "userId": "Practitioner/dr-1",
        "patientId": "pat-1",
        "encounterId": "enc-now",
        "draftOrders": {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": d} for d in drafts],
        },
    }
    if hook == "order-select":
        context["selections"] = [f"ServiceRequest/{d['id']}" for d in drafts]
    patient = {
        "resourceType": "Patient",
        "id": "pat-1",
        "meta": {"profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"]},
        "name": [{"use": "official", "family": "Chart", "given": [chart.name.title()]}],
        "gender": chart.gender,
        "birthDate": chart.born,
    }
    return {
        "hook": hook,
        "hookInstance": f"00000000-0000-4000-8000-{zlib.crc32(chart.name.encode()):012d}",
        "fhirServer": "https://ehr.example.org/fhir",
        "context": context,
        "prefetch": {
            "patient": patient,
            "conditions": searchset(chart.conditions, chart.included),
            "observations": searchset(chart.observations),
            "procedures": searchset(chart.procedures),
            "diagnosticReports": searchset(chart.reports),
            "imagingStudies": {"resourceType": "Bundle", "type": "searchset", "total": 0},
            "observationValues": {"resourceType": "Bundle", "type": "searchset", "total": 0},
        },
    }


@dataclass(frozen=True)
class Patient:
    name: str
    born: str
    gender: str
    pounds: float
    inches: float
    hcc: bool
    problems: int
    orders: tuple[str, ...]
    reason: str


PATIENTS = [
    Patient("alvarez", "1971-03-14", "female", 165.0, 64.0, False, 24, ("ct",), "icd"),
    Patient("brooks", "1958-07-02", "male", 210.0, 70.0, True, 25, ("xr",), "snomed"),
    Patient("chen", "1985-11-30", "female", 130.0, 63.0, False, 22, ("xr", "mri"), "icd"),
    Patient("dubois", "1962-01-19", "male", 190.0, 69.0, True, 26, ("ct",), "snomed"),
    Patient("evans", "1979-05-08", "female", 150.0, 66.0, False, 21, ("mri",), "icd"),
    Patient("fischer", "1990-09-21", "male", 175.0, 71.0, False, 20, ("ct",), "snomed"),
    Patient("garcia", "1966-12-03", "female", 180.0, 65.0, True, 24, ("xr",), "icd"),
    Patient("hughes", "1953-04-27", "male", 200.0, 68.0, True, 28, ("ct", "mri"), "icd"),
    Patient("ito", "1988-02-11", "female", 125.0, 62.0, False, 23, ("xr",), "snomed"),
    Patient("jones", "1975-08-16", "male", 230.0, 72.0, False, 25, ("ct",), "icd"),
]


def build(patient: Patient, weights: dict[int, float] | None = None) -> Chart:
    """The patient's chart, the same every time (its generator seeded by its name)."""
    seed = sum(ord(c) * (i + 1) for i, c in enumerate(patient.name))
    chart = Chart(
        patient.name,
        random.Random(seed),
        patient.born,
        patient.gender,
        patient.pounds,
        patient.inches,
        patient.hcc,
    )
    add_problem_list(chart, patient.problems)
    add_encounter_diagnoses(chart)
    add_health_concerns_and_family(chart)
    add_vitals(chart, weights)
    add_labs_and_screenings(chart)
    return chart


# --- the buried findings: one each, in a chart of the variant's own patient


def radiculopathy_code(chart: Chart) -> None:
    chart.conditions.insert(
        11, problem(chart, "M54.12", "54404000", "Radiculopathy, cervical region", 120)
    )


def fever_reading(chart: Chart) -> None:
    chart.observations.insert(40, vital(chart, "8310-5", "Body temperature", 38.6, "Cel", 5))


def breast_cancer_history(chart: Chart) -> None:
    codings = [
        coding(ICD, "Z85.3", "History of breast cancer (HCC)"),
        coding(SNOMED, "429087003", "History of malignant neoplasm of breast"),
        coding(LOCAL, "88412", "History of breast cancer (HCC)"),
    ]
    found = condition(chart, codings, "History of breast cancer (HCC)", PROBLEM, 2900, "resolved")
    chart.conditions.insert(7, found)


def gait_text(text: str) -> Callable[[Chart], None]:
    def bury(chart: Chart) -> None:
        eid = encounter(chart, 20, "Office visit")
        codings = [{"system": LOCAL, "code": "90211", "display": text}]
        chart.conditions.insert(
            30, condition(chart, codings, text, ENCOUNTER_DX, 20, "active", eid)
        )

    return bury


def whiplash(chart: Chart) -> None:
    eid = encounter(chart, 21, "Urgent care visit")
    codings = [
        coding(ICD, "S13.4XXA", "Sprain of ligaments of cervical spine, initial encounter"),
        coding(SNOMED, "39848009", "Whiplash injury to neck"),
    ]
    found = condition(chart, codings, "Whiplash injury to neck", ENCOUNTER_DX, 21, "active", eid)
    chart.conditions.insert(28, found)


def numbness_without_system(chart: Chart) -> None:
    reading = vital(chart, "8310-5", "x", 0, "Cel", 40)
    del reading["valueQuantity"], reading["meta"]
    reading["category"] = [{"coding": [coding(OBS_CATEGORY, "exam", "Exam")]}]
    reading["code"] = {"coding": [{"code": "44077006", "display": "Numbness"}]}
    reading["valueBoolean"] = True
    chart.observations.insert(70, reading)


def flowsheet_fever(chart: Chart) -> None:
    reading = vital(chart, "8310-5", "Temp", 101.2, "[degF]", 4)
    reading["code"] = {
        "coding": [{"system": FLOWSHEET, "code": "6", "display": "Temp"}],
        "text": "Temp",
    }
    chart.observations.insert(20, reading)


def prior_cervical_radiograph(chart: Chart) -> None:
    chart.procedures.append(
        {
            "resourceType": "Procedure",
            "id": chart.next_id("proc"),
            "status": "completed",
            "code": {"coding": [coding(CPT, "72040", "X-ray cervical spine 2-3 views")]},
            "subject": {"reference": "Patient/pat-1"},
            "performedDateTime": ago(150),
        }
    )


def carotid_dissection(chart: Chart) -> None:
    chart.conditions.insert(
        5, problem(chart, "I77.71", "230730001", "Dissection of carotid artery", 300)
    )


def hiv_disease(chart: Chart) -> None:
    chart.conditions.insert(9, problem(chart, "B20", "86406008", "HIV disease (HCC)", 1500))


def weight_loss_weights(patient: Patient) -> dict[int, float]:
    """6% of body weight lost over the last 10 months (a reading 305 days ago, then two)."""
    return {186: patient.pounds * 0.97, 3: patient.pounds * 0.94}


def weight_loss_visit(chart: Chart) -> None:
    chart.observations.insert(
        60, vital(chart, "29463-7", "Body weight", chart.pounds, "[lb_av]", 305)
    )


BURIED: dict[str, tuple[str, Callable[[Chart], None], tuple[str, ...] | None]] = {
    "alvarez-with-radiculopathy-code": ("alvarez", radiculopathy_code, None),
    "alvarez-with-numbness-no-system": ("alvarez", numbness_without_system, None),
    "chen-with-fever-reading": ("chen", fever_reading, None),
    "evans-with-breast-cancer-history-hcc": ("evans", breast_cancer_history, None),
    "evans-mra-with-carotid-dissection": ("evans", carotid_dissection, ("mra",)),
    "fischer-with-abnormal-gait-text": ("fischer", gait_text("Abnormal gait"), None),
    "fischer-with-unsteady-gait-words": (
        "fischer",
        gait_text("Gait unsteady since last month"),
        None,
    ),
    "fischer-with-flowsheet-fever": ("fischer", flowsheet_fever, None),
    "garcia-with-hiv-hcc": ("garcia", hiv_disease, None),
    "ito-with-weight-loss-10-months": ("ito", weight_loss_visit, None),
    "jones-with-whiplash": ("jones", whiplash, None),
    "jones-with-prior-cervical-radiograph": ("jones", prior_cervical_radiograph, None),
}


def charts() -> dict[str, dict[str, Any]]:
    """Every chart's hook request, by name: ``chart-<patient>`` and ``chart-<variant>``."""
    by_name = {p.name: p for p in PATIENTS}
    found: dict[str, dict[str, Any]] = {}
    for patient in PATIENTS:
        found[f"chart-{patient.name}"] = hook_request(
            build(patient), list(patient.orders), patient.reason
        )
    for name, (base, bury, orders) in BURIED.items():
        patient = by_name[base]
        weights = weight_loss_weights(patient) if bury is weight_loss_visit else None
        chart = build(patient, weights)
        bury(chart)
        found[f"chart-{name}"] = hook_request(chart, list(orders or patient.orders), patient.reason)
    return found


def main() -> None:
    for old in OUT.glob("chart-*.json"):
        old.unlink()
    made = charts()
    for name, body in made.items():
        text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
        (OUT / f"{name}.json").write_text(text + "\n", encoding="utf-8")
    print(f"wrote {len(made)} charts to {OUT}")


if __name__ == "__main__":
    main()
