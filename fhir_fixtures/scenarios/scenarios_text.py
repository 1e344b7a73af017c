"""Scenarios: findings named in texts (ConText), ICD-10-CM by hierarchy, where findings are read.

Built with the helpers of ``make_scenarios.py``; their expectations are in ``tests/scenarios.yaml``.
Each one is a patient from the clinical review: one outside the variant who was told "Usually
not appropriate", or one of the variant's own who was silenced by a text that denies a finding.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from make_scenarios import CPT, ICD, LOINC, SNOMED, ago, condition, order, request

LOCAL = "https://ehr.example.org/fhir/CodeSystem/problem-list"


def text_condition(cid: str, text: str, *, onset_days: int = 60, **extra: Any) -> dict:
    """A problem-list entry known only by its text (a local code the rules do not know)."""
    resource = condition(cid, LOCAL, "local-1", text, onset_days=onset_days)
    resource["code"]["text"] = text
    resource.update(extra)
    return resource


def noted(resource: dict, text: str) -> dict:
    resource["note"] = [{"text": text}]
    return resource


def exam_finding(oid: str, value: dict | None, days: int = 5, **extra: Any) -> dict:
    """An examination Observation whose coded value is a finding."""
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "11450-4", "display": "Problem list"}]},
        "subject": {"reference": "Patient/pat-1"},
        "effectiveDateTime": ago(days),
    }
    if value is not None:
        resource["valueCodeableConcept"] = {"coding": [value]}
    resource.update(extra)
    return resource


def ct(**extra: Any) -> dict:
    return order("ct-1", (CPT, "72125"), **extra)


def text_scenarios() -> dict[str, dict[str, Any]]:
    s: dict[str, dict[str, Any]] = {}
    # --- the variant's own patients, whom a text that denies a finding must not silence
    s["text-spondylosis-without-radiculopathy"] = request(
        "order-select",
        [ct()],
        conditions=[
            condition(
                "c-1",
                ICD,
                "M47.812",
                "Spondylosis without myelopathy or radiculopathy, cervical region",
            )
        ],
    )
    s["text-reason-denies-red-flags"] = request(
        "order-select",
        [
            ct(
                reasonCode=[
                    {
                        "coding": [{"system": SNOMED, "code": "279016001"}],
                        "text": "Cervicogenic headache. No radiculopathy, no red flags.",
                    }
                ]
            )
        ],
    )
    s["text-note-denies-deficit"] = request(
        "order-select",
        [ct()],
        conditions=[
            noted(
                condition("c-1", ICD, "M54.2", "Cervicalgia"),
                "Reports no weakness, numbness or gait change.",
            )
        ],
    )
    s["text-intentional-weight-loss"] = request(
        "order-select", [ct()], conditions=[text_condition("c-1", "Intentional weight loss")]
    )
    s["text-family-history-of-cancer"] = request(
        "order-select",
        [ct()],
        conditions=[
            condition("c-1", ICD, "Z80.3", "Family history of malignant neoplasm of breast"),
            text_condition("c-2", "Family history of colon cancer"),
        ],
    )
    s["text-lumbar-radiculopathy-only"] = request(
        "order-select", [ct()], conditions=[text_condition("c-1", "Lumbar radiculopathy, L5")]
    )
    s["observation-finding-denied"] = request(
        "order-select",
        [ct()],
        observations=[
            exam_finding(
                "o-1",
                None,
                code={"coding": [{"system": SNOMED, "code": "44077006", "display": "Numbness"}]},
                valueBoolean=False,
            )
        ],
    )
    # --- patients outside the variant, whom the old substring rules rated
    s["text-unintentional-weight-loss"] = request(
        "order-select", [ct()], conditions=[text_condition("c-1", "Unintentional weight loss")]
    )
    s["text-cervical-and-lumbar-radiculopathy"] = request(
        "order-select",
        [ct()],
        conditions=[text_condition("c-1", "Cervical and lumbar radiculopathy")],
    )
    s["text-cervicothoracic-radiculopathy"] = request(
        "order-select", [ct()], conditions=[text_condition("c-1", "Cervicothoracic radiculopathy")]
    )
    s["text-cancer-negative-for-metastases"] = request(
        "order-select",
        [ct()],
        conditions=[text_condition("c-1", "Breast cancer, negative for metastases")],
    )
    s["text-car-crash-last-week"] = request(
        "order-select",
        [ct()],
        conditions=[
            text_condition("c-1", "Neck pain after a motor vehicle collision", onset_days=6)
        ],
    )
    s["text-hiv"] = request("order-select", [ct()], conditions=[text_condition("c-1", "HIV")])
    s["text-reason-new-arm-weakness"] = request(
        "order-select",
        [
            ct(
                reasonCode=[
                    {"coding": [{"system": SNOMED, "code": "279016001"}]},
                    {"text": "New left arm weakness since Monday"},
                ]
            )
        ],
    )
    s["text-order-note-radiating-arm-pain"] = request(
        "order-select",
        [ct(note=[{"text": "Neck pain with pain radiating down the arm for 2 weeks"}])],
    )
    s["text-condition-note-fever"] = request(
        "order-select",
        [ct()],
        conditions=[
            noted(
                condition("c-1", ICD, "M54.2", "Cervicalgia", onset_days=3),
                "Febrile to 38.9 last night.",
            )
        ],
    )
    # --- ICD-10-CM by hierarchy: codes the hand-made lists missed
    s["code-fever-r50-81"] = request(
        "order-select",
        [ct()],
        conditions=[
            condition(
                "c-1",
                ICD,
                "R50.81",
                "Fever presenting with conditions classified elsewhere",
                onset_days=3,
            )
        ],
    )
    s["code-cord-compression-new"] = request(
        "order-select",
        [ct()],
        conditions=[condition("c-1", ICD, "G95.20", "Unspecified cord compression", onset_days=4)],
    )
    s["code-hiv-z21"] = request(
        "order-select",
        [ct()],
        conditions=[
            condition(
                "c-1", ICD, "Z21", "Asymptomatic human immunodeficiency virus infection status"
            )
        ],
    )
    s["code-cancer-c50"] = request(
        "order-select",
        [ct()],
        conditions=[
            condition(
                "c-1",
                ICD,
                "C50.911",
                "Malignant neoplasm of unspecified site of right female breast",
            )
        ],
    )
    s["code-generalised-weakness-new"] = request(
        "order-select",
        [ct()],
        conditions=[condition("c-1", ICD, "R53.1", "Weakness", onset_days=3)],
    )
    s["code-old-deficit-then-new-one"] = request(
        "order-select",
        [ct()],
        conditions=[
            condition(
                "c-1", ICD, "R26.89", "Other abnormalities of gait and mobility", onset_days=2500
            ),
            condition("c-2", ICD, "G95.20", "Unspecified cord compression", onset_days=3),
        ],
    )
    # --- where findings are read: Observations, Conditions entered with the draft orders
    s["observation-finding-numbness"] = request(
        "order-select",
        [ct()],
        observations=[
            exam_finding("o-1", {"system": SNOMED, "code": "44077006", "display": "Numbness"})
        ],
    )
    s["draft-bundle-condition-radiculopathy"] = request(
        "order-select",
        [ct()],
        extra_entries=[
            condition("c-visit", ICD, "M54.12", "Radiculopathy, cervical region", onset_days=0)
        ],
    )
    s.update(order_scenarios())
    s.update(attack_scenarios())
    return s


ATTACK_CASES = Path(__file__).resolve().parent.parent / "attack-cases"


def attack_scenarios() -> dict[str, dict[str, Any]]:
    """Hook requests written by a reviewer attacking the rules (kept as written)."""
    return {
        f"attack-{path.stem}": json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(ATTACK_CASES.glob("*.json"))
    }


def order_scenarios() -> dict[str, dict[str, Any]]:
    """Orders rated for what they are: the level, the other regions, the system URIs."""
    s: dict[str, dict[str, Any]] = {}
    cervical_site = [
        {"coding": [{"system": SNOMED, "code": "122494005", "display": "Cervical spine structure"}]}
    ]
    s["xr-72020-level-not-stated"] = request("order-select", [order("xr-1", (CPT, "72020"))])
    s["xr-72020-cervical-body-site"] = request(
        "order-select", [order("xr-1", (CPT, "72020"), bodySite=cervical_site)]
    )
    xr_text = order("xr-1", (CPT, "72020"))
    xr_text["code"]["text"] = "XR spine, cervical, single view"
    s["xr-72020-cervical-in-text"] = request("order-select", [xr_text])
    s["mri-cervical-and-thoracic"] = request(
        "order-select", [order("mri-1", (CPT, "72141"), (CPT, "72146"))]
    )
    s["ct-cervical-with-lumbar-body-site"] = request(
        "order-select",
        [
            order(
                "ct-1",
                (CPT, "72125"),
                bodySite=[{"coding": [{"system": SNOMED, "code": "122496007"}]}],
            )
        ],
    )
    s["systems-as-ehrs-send-them"] = request(
        "order-sign",
        [
            order("loinc-https", ("https://loinc.org", "30592-0")),
            order("radlex-www", ("http://www.radlex.org", "RPID21")),
            order("cpt-oid", ("urn:oid:2.16.840.1.113883.6.12", "72125")),
            order("snomed-bare-oid", ("2.16.840.1.113883.6.96", "572061000119104")),
        ],
    )
    s["mri-snomed-contrast-not-stated"] = request(
        "order-select", [order("mri-1", (SNOMED, "241646009"))]
    )
    s["mra-neck-vascular"] = request("order-select", [order("mra-1", (CPT, "70548"))])
    return s
