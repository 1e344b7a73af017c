"""Writes the hook-request scenarios in ``fhir_fixtures/scenarios/`` (run once; output committed).

Each scenario is a complete CDS Hooks 2.0 request with the patient's record in the prefetch,
usable as-is with ``cds-service evaluate`` or POSTed to a running service. Dates are relative to
the scenarios' evaluation time, 2026-11-23T12:00:00Z. What each scenario should produce is
written separately, from the clinical source, in ``tests/scenarios.yaml``.

    python fhir_fixtures/scenarios/make_scenarios.py
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent
NOW = datetime(2026, 11, 23, 12, 0)
CPT = "http://www.ama-assn.org/go/cpt"
LOINC = "http://loinc.org"
RADLEX = "http://radlex.org"
SNOMED = "http://snomed.info/sct"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
CGH_SNOMED = {"system": SNOMED, "code": "279016001", "display": "Cervicogenic headache"}
CGH_ICD = {"system": ICD, "code": "G44.86", "display": "Cervicogenic headache"}


def ago(days: int) -> str:
    return (NOW - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def order(oid: str, *codings: tuple[str, str], reason: Any = "snomed", **extra: Any) -> dict:
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": oid,
        "status": "draft",
        "intent": "order",
        "category": [{"coding": [{"system": SNOMED, "code": "363679005", "display": "Imaging"}]}],
        "code": {"coding": [{"system": s, "code": c} for s, c in codings]},
        "subject": {"reference": "Patient/pat-1"},
        "encounter": {"reference": "Encounter/enc-1"},
        "requester": {"reference": "Practitioner/dr-1"},
    }
    if reason == "snomed":
        resource["reasonCode"] = [{"coding": [CGH_SNOMED], "text": "Cervicogenic headache"}]
    elif reason == "icd":
        resource["reasonCode"] = [{"coding": [CGH_ICD]}]
    elif reason is not None:
        resource["reasonCode"] = [{"coding": [reason]}]
    resource.update(extra)
    return resource


def condition(
    cid: str,
    system: str,
    code: str,
    display: str,
    *,
    status: str = "active",
    verification: str = "confirmed",
    onset_days: int | None = 60,
) -> dict:
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": cid,
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": status,
                }
            ]
        },
        "verificationStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": verification,
                }
            ]
        },
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                        "code": "problem-list-item",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": system, "code": code, "display": display}]},
        "subject": {"reference": "Patient/pat-1"},
    }
    if onset_days is not None:
        resource["onsetDateTime"] = ago(onset_days)
        resource["recordedDate"] = ago(onset_days)
    return resource


def vital(oid: str, loinc: str, display: str, value: float, unit: str, days: int) -> dict:
    return {
        "resourceType": "Observation",
        "id": oid,
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
        "code": {"coding": [{"system": LOINC, "code": loinc, "display": display}]},
        "subject": {"reference": "Patient/pat-1"},
        "effectiveDateTime": ago(days),
        "valueQuantity": {
            "value": value,
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        },
    }


def temperature(oid: str, value: float, unit: str = "Cel", days: int = 2) -> dict:
    return vital(oid, "8310-5", "Body temperature", value, unit, days)


def weight(oid: str, kg: float, days: int) -> dict:
    return vital(oid, "29463-7", "Body weight", kg, "kg", days)


def searchset(resources: list[dict]) -> dict | None:
    if not resources:
        return None
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [
            {
                "fullUrl": f"https://ehr.example.org/fhir/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }


def patient(birth: str | None = "1981-05-04") -> dict:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": "pat-1",
        "name": [{"family": "Scenario", "given": ["Pat"]}],
        "gender": "female",
    }
    if birth:
        resource["birthDate"] = birth
    return resource


def request(
    hook: str,
    orders: list[dict],
    *,
    conditions: Sequence[dict] = (),
    observations: Sequence[dict] = (),
    birth: str | None = "1981-05-04",
    selections: list[str] | None = None,
    extra_entries: Sequence[dict] = (),
    procedures: Sequence[dict] = (),
    diagnostic_reports: Sequence[dict] = (),
    imaging_studies: Sequence[dict] = (),
) -> dict:
    context: dict[str, Any] = {
        "userId": "Practitioner/dr-1",
        "patientId": "pat-1",
        "encounterId": "enc-1",
        "draftOrders": {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": r} for r in [*orders, *extra_entries]],
        },
    }
    if hook == "order-select":
        context["selections"] = selections or [f"{o['resourceType']}/{o['id']}" for o in orders]
    return {
        "hook": hook,
        "hookInstance": "5f4b3c1e-9a51-4a8e-8a57-0c3c2a6f1b10",
        "fhirServer": "https://ehr.example.org/fhir",
        "context": context,
        "prefetch": {
            "patient": patient(birth),
            "conditions": searchset(list(conditions)),
            "observations": searchset(list(observations)),
            "procedures": searchset(list(procedures)),
            "diagnosticReports": searchset(list(diagnostic_reports)),
            "imagingStudies": searchset(list(imaging_studies)),
            "observationValues": None,
        },
    }


def sandbox_imaging_request() -> dict:
    """The exact shape the CDS Hooks sandbox's imaging (PAMA) screen sends."""
    return {
        "hookInstance": "0c5a0fd5-4cbb-4b36-9c44-3ab0d4bc1a3f",
        "hook": "order-select",
        "fhirServer": "https://launch.smarthealthit.org/v/r4/fhir",
        "context": {
            "userId": "Practitioner/COREPRACTITIONER1",
            "patientId": "smart-1288992",
            "selections": ["ServiceRequest/example-request-id"],
            "draftOrders": {
                "resourceType": "Bundle",
                "entry": [
                    {
                        "resource": {
                            "resourceType": "ServiceRequest",
                            "id": "example-request-id",
                            "status": "draft",
                            "intent": "plan",
                            "code": {
                                "coding": [
                                    {
                                        "system": CPT,
                                        "code": "72125",
                                        "display": "CT cervical spine without contrast",
                                    }
                                ],
                                "text": "CT cervical spine without contrast",
                            },
                            "subject": {"reference": "Patient/smart-1288992"},
                            "reasonCode": [
                                {
                                    "coding": [
                                        {
                                            "system": SNOMED,
                                            "code": "279016001",
                                            "display": "Cervicogenic headache",
                                        }
                                    ],
                                    "text": "Cervicogenic headache",
                                }
                            ],
                        }
                    }
                ],
            },
        },
        "prefetch": {
            "patient": {
                "resourceType": "Patient",
                "id": "smart-1288992",
                "gender": "male",
                "birthDate": "1983-02-21",
            },
            "conditions": {"resourceType": "Bundle", "type": "searchset", "total": 0},
            "observations": {"resourceType": "Bundle", "type": "searchset", "total": 0},
            "procedures": {"resourceType": "Bundle", "type": "searchset", "total": 0},
            "diagnosticReports": {"resourceType": "Bundle", "type": "searchset", "total": 0},
            "imagingStudies": {"resourceType": "Bundle", "type": "searchset", "total": 0},
            "observationValues": {"resourceType": "Bundle", "type": "searchset", "total": 0},
        },
    }


FAMILIES: dict[str, list[tuple[str, str]]] = {
    # one order per table row that the system codes, MRI without contrast excluded (own files)
    "cpt": [
        (CPT, c)
        for c in [
            "72040",
            "72125",
            "72126",
            "72127",
            "62302",
            "72142",
            "72156",
            "70547",
            "70548",
            "70549",
            "70498",
            "78306",
        ]
    ],
    "loinc": [
        (LOINC, c)
        for c in [
            "36669-0",
            "24945-8",
            "30592-0",
            "24933-4",
            "36401-8",
            "24932-6",
            "24934-2",
            "24947-4",
            "24938-3",
            "24937-5",
            "36549-4",
            "24844-3",
            "36423-2",
            "36234-3",
        ]
    ],
    "radlex": [
        (RADLEX, c)
        for c in [
            "RPID2511",
            "RPID2512",
            "RPID21",
            "RPID20",
            "RPID19",
            "RPID6656",
            "RPID488",
            "RPID487",
            "RPID467",
            "RPID561",
            "RPID466",
            "RPID379",
        ]
    ],
    "snomed": [
        (SNOMED, c)
        for c in [
            "712970008",
            "572061000119104",
            "762008",
            "241578008",
            "241590005",
            "60443006",
            "702435008",
        ]
    ],
}


def scenarios() -> dict[str, dict]:
    s: dict[str, dict] = {}
    for system, codes in FAMILIES.items():
        orders = [order(f"{system}-{code.lower()}", (sys_, code)) for sys_, code in codes]
        s[f"families-{system}"] = request("order-sign", orders)
    s["mri-without-cpt"] = request("order-select", [order("mri-1", (CPT, "72141"))])
    s["mri-without-loinc"] = request("order-select", [order("mri-1", (LOINC, "30667-0"))])
    s["mri-without-snomed"] = request("order-select", [order("mri-1", (SNOMED, "571891000119109"))])
    s["mri-contrast-unspecified"] = request("order-select", [order("mri-1", (LOINC, "24935-9"))])
    s["ct-contrast-unspecified"] = request("order-select", [order("ct-1", (LOINC, "24932-6"))])
    s["xr-cpt-and-loinc-agree"] = request(
        "order-select", [order("xr-1", (CPT, "72050"), (LOINC, "24941-7"))]
    )

    # the indication
    cgh_in_bundle = condition("cgh-draft", ICD, "G44.86", "Cervicogenic headache")
    s["indication-reason-reference-in-bundle"] = request(
        "order-select",
        [
            order(
                "xr-1",
                (CPT, "72040"),
                reason=None,
                reasonReference=[{"reference": "Condition/cgh-draft"}],
            )
        ],
        extra_entries=[cgh_in_bundle],
    )
    s["indication-reason-reference-in-record"] = request(
        "order-select",
        [
            order(
                "ct-1",
                (CPT, "72125"),
                reason=None,
                reasonReference=[{"reference": "https://ehr.example.org/fhir/Condition/cgh-1"}],
            )
        ],
        conditions=[
            condition("cgh-1", SNOMED, "279016001", "Cervicogenic headache", status="resolved")
        ],
    )
    s["indication-reason-code-icd"] = request(
        "order-select", [order("ct-1", (CPT, "72125"), reason="icd")]
    )
    s["indication-problem-list"] = request(
        "order-sign",
        [order("xr-1", (CPT, "72040"), reason=None)],
        conditions=[condition("cgh-1", ICD, "G44.86", "Cervicogenic headache")],
    )
    s["indication-problem-list-resolved"] = request(
        "order-sign",
        [order("xr-1", (CPT, "72040"), reason=None)],
        conditions=[condition("cgh-1", ICD, "G44.86", "Cervicogenic headache", status="resolved")],
    )
    s["indication-problem-list-refuted"] = request(
        "order-sign",
        [order("xr-1", (CPT, "72040"), reason=None)],
        conditions=[
            condition("cgh-1", ICD, "G44.86", "Cervicogenic headache", verification="refuted")
        ],
    )
    s["reason-is-neck-pain-only"] = request(
        "order-select",
        [
            order(
                "xr-1",
                (CPT, "72040"),
                reason={"system": ICD, "code": "M54.2", "display": "Cervicalgia"},
            )
        ],
        conditions=[condition("cgh-1", ICD, "G44.86", "Cervicogenic headache")],
    )
    s["no-indication"] = request("order-sign", [order("xr-1", (CPT, "72040"), reason=None)])

    # exclusions, via Condition and via Observation
    def excluded(
        name: str,
        *,
        conditions: Sequence[dict] = (),
        observations: Sequence[dict] = (),
        birth: str | None = "1981-05-04",
    ) -> None:
        s[name] = request(
            "order-select",
            [order("ct-1", (CPT, "72125"))],
            conditions=conditions,
            observations=observations,
            birth=birth,
        )

    excluded(
        "excl-radiculopathy-icd",
        conditions=[condition("c1", ICD, "M54.12", "Radiculopathy, cervical region")],
    )
    excluded(
        "excl-radiculopathy-snomed",
        conditions=[condition("c1", SNOMED, "54404000", "Cervical radiculopathy")],
    )
    excluded(
        "excl-radiculopathy-disc-range",
        conditions=[
            condition(
                "c1", ICD, "M50.121", "Cervical disc disorder at C4-C5 level with radiculopathy"
            )
        ],
    )
    excluded(
        "excl-neuro-deficit-new",
        conditions=[condition("c1", ICD, "R26.89", "Other abnormalities of gait", onset_days=5)],
    )
    excluded(
        "excl-neuro-deficit-longstanding",
        conditions=[condition("c1", SNOMED, "26544005", "Muscle weakness", onset_days=800)],
    )
    excluded(
        "excl-fever-condition",
        conditions=[condition("c1", SNOMED, "386661006", "Fever", onset_days=3)],
    )
    excluded("excl-fever-observation-celsius", observations=[temperature("t1", 38.4)])
    excluded("excl-fever-observation-fahrenheit", observations=[temperature("t1", 101.2, "[degF]")])
    excluded("not-excl-fever-long-ago", observations=[temperature("t1", 39.0, days=40)])
    excluded(
        "not-excl-temperature-normal",
        observations=[temperature("t1", 37.1), temperature("t2", 36.8, days=1)],
    )
    excluded(
        "excl-night-sweats",
        conditions=[condition("c1", ICD, "R61", "Generalized hyperhidrosis", onset_days=20)],
    )
    excluded(
        "excl-weight-loss-condition",
        conditions=[condition("c1", SNOMED, "267024001", "Abnormal weight loss")],
    )
    excluded(
        "excl-weight-loss-observations",
        observations=[weight("w1", 82.0, 150), weight("w2", 80.1, 90), weight("w3", 76.0, 3)],
    )
    excluded(
        "not-excl-weight-stable", observations=[weight("w1", 82.0, 150), weight("w2", 81.2, 3)]
    )
    excluded(
        "excl-malignancy-history",
        conditions=[
            condition(
                "c1",
                ICD,
                "Z85.3",
                "Personal history of malignant neoplasm of breast",
                status="resolved",
                onset_days=3000,
            )
        ],
    )
    excluded(
        "excl-malignancy-active-range",
        conditions=[
            condition(
                "c1",
                ICD,
                "C34.90",
                "Malignant neoplasm of unspecified part of unspecified bronchus or lung",
            )
        ],
    )
    excluded(
        "not-excl-malignancy-refuted",
        conditions=[
            condition("c1", ICD, "C34.90", "Malignant neoplasm of lung", verification="refuted")
        ],
    )
    excluded(
        "excl-immunosuppression",
        conditions=[condition("c1", ICD, "F11.20", "Opioid dependence, uncomplicated")],
    )
    excluded(
        "excl-trauma-whiplash",
        conditions=[
            condition(
                "c1",
                ICD,
                "S13.4XXA",
                "Sprain of ligaments of cervical spine, initial encounter",
                onset_days=10,
            )
        ],
    )
    excluded(
        "not-excl-trauma-long-resolved",
        conditions=[
            condition(
                "c1",
                SNOMED,
                "39848009",
                "Whiplash injury to neck",
                status="resolved",
                onset_days=2000,
            )
        ],
    )
    excluded("excl-child", birth="2011-03-23")
    excluded("excl-age-not-recorded", birth=None)
    excluded(
        "excl-several-groups",
        conditions=[
            condition("c1", ICD, "M54.12", "Radiculopathy, cervical region"),
            condition("c2", ICD, "S13.4XXA", "Whiplash", onset_days=30),
        ],
        observations=[temperature("t1", 38.9)],
    )

    # found in review: each of these once told an excluded patient "Usually not appropriate"
    s["excl-radiculopathy-on-the-order"] = request(
        "order-select",
        [
            order(
                "ct-1",
                (CPT, "72125"),
                reasonCode=[
                    {"coding": [CGH_SNOMED]},
                    {
                        "coding": [
                            {
                                "system": ICD,
                                "code": "M54.12",
                                "display": "Radiculopathy, cervical region",
                            }
                        ]
                    },
                ],
            )
        ],
    )
    excluded(
        "excl-radiculopathy-text-only",
        conditions=[
            {**condition("c1", ICD, "x", "x"), "code": {"text": "Cervical radiculopathy, right C6"}}
        ],
    )
    excluded(
        "excl-radiculopathy-who-icd10",
        conditions=[
            condition(
                "c1", "http://hl7.org/fhir/sid/icd-10", "M54.12", "Radiculopathy, cervical region"
            )
        ],
    )
    excluded(
        "excl-rejected-condition-still-excludes",
        conditions=[
            {
                **condition("c1", ICD, "M54.12", "Radiculopathy, cervical region"),
                "unknownElement": True,
            }
        ],
    )
    excluded("excl-child-birth-year-only", birth="2008")
    excluded(
        "excl-glioblastoma-snomed-subtype",
        conditions=[condition("c1", SNOMED, "393563007", "Glioblastoma multiforme")],
    )
    excluded(
        "excl-neuro-deficit-old-onset-recorded-recently",
        conditions=[
            {
                **condition("c1", ICD, "R26.89", "Other abnormalities of gait", onset_days=5800),
                "recordedDate": ago(3),
            }
        ],
    )
    excluded(
        "not-excl-lumbar-radiculopathy",
        conditions=[condition("c1", SNOMED, "128196005", "Lumbar radiculopathy")],
    )
    excluded(
        "not-excl-ankle-fracture",
        conditions=[condition("c1", SNOMED, "16114001", "Fracture of ankle")],
    )
    s["ct-myelography-cpt-combination"] = request(
        "order-select", [order("myelo-1", (CPT, "62284"), (CPT, "72126"))]
    )
    s["mri-cpt-with-unspecified-loinc"] = request(
        "order-select", [order("mri-1", (CPT, "72141"), (LOINC, "24935-9"))]
    )

    # order sets
    s["unrelated-order"] = request("order-select", [order("knee-1", (CPT, "73721"))])
    s["several-selected"] = request(
        "order-select",
        [
            order("xr-1", (CPT, "72040")),
            order("ct-1", (CPT, "72125")),
            order("mri-c-1", (CPT, "72142")),
        ],
        selections=["ServiceRequest/xr-1", "ServiceRequest/ct-1"],
    )
    s["mri-already-drafted"] = request(
        "order-sign", [order("xr-1", (CPT, "72040")), order("mri-1", (CPT, "72141"))]
    )
    s["medication-and-imaging"] = request(
        "order-sign",
        [
            order("xr-1", (CPT, "72040")),
            {
                "resourceType": "MedicationRequest",
                "id": "med-1",
                "status": "draft",
                "intent": "proposal",
                "subject": {"reference": "Patient/pat-1"},
                "medicationCodeableConcept": {
                    "coding": [
                        {
                            "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                            "code": "197806",
                            "display": "Ibuprofen 600 MG Oral Tablet",
                        }
                    ]
                },
            },
        ],
    )
    s["order-without-id"] = request(
        "order-sign", [{k: v for k, v in order("x", (CPT, "72040")).items() if k != "id"}]
    )
    s["sandbox-imaging-screen"] = sandbox_imaging_request()
    # later sets, one module each (imported here: they build on the helpers above)
    # issue 20: observations, text read by concept, i20rest's vascular texts read with
    # negation, i20wt's undated body weights, i20pd's partial dates read as their span
    from scenarios_concepts import concept_scenarios
    from scenarios_i20rest import vascular_negation_scenarios
    from scenarios_observations import observation_scenarios
    from scenarios_partial_dates import partial_date_scenarios
    from scenarios_prior import prior_imaging_scenarios
    from scenarios_record import record_scenarios
    from scenarios_review import review_scenarios
    from scenarios_text import text_scenarios
    from scenarios_undated_weights import undated_weight_scenarios

    sets = (
        text_scenarios(),
        record_scenarios(),
        prior_imaging_scenarios(),
        review_scenarios(),
        observation_scenarios(),
        concept_scenarios(),
        vascular_negation_scenarios(),
        undated_weight_scenarios(),
        partial_date_scenarios(),
    )
    for more in sets:
        clash = set(more) & set(s)
        assert not clash, f"scenario names used twice: {clash}"
        s.update(more)
    return s


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.json"):
        old.unlink()
    for name, body in scenarios().items():
        (OUT / f"{name}.json").write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(scenarios())} scenarios to {OUT} ({date.today()})")


if __name__ == "__main__":
    main()
