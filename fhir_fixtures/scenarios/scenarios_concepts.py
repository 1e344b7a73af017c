"""Scenarios of issue 20's text reading: EHR display idioms, negation that ends with its
clause, and the seed's findings in other words (by concept), each both ways.

Built with the helpers of ``make_scenarios.py``; their expectations are in
``tests/scenarios.yaml`` (written from the seed and the clinical reference).
"""

from __future__ import annotations

from typing import Any

from make_scenarios import CGH_SNOMED, CPT, ICD, SNOMED, condition, order, request
from scenarios_text import noted, text_condition


def ct(**extra: Any) -> dict[str, Any]:
    return order("ct-1", (CPT, "72125"), **extra)


def with_reason(text: str) -> dict[str, Any]:
    """A CT whose order gives the indication coded and a second reason in words."""
    return ct(reasonCode=[{"coding": [CGH_SNOMED]}, {"text": text}])


def with_note(text: str) -> dict[str, Any]:
    return ct(note=[{"text": text}])


def cervicalgia_noted(text: str) -> dict[str, Any]:
    return noted(condition("c-1", ICD, "M54.2", "Cervicalgia", onset_days=100), text)


def select(orders: list[dict[str, Any]], **record: Any) -> dict[str, Any]:
    return request("order-select", orders, **record)


def concept_scenarios() -> dict[str, dict[str, Any]]:
    return {**idiom_scenarios(), **clause_scenarios(), **finding_scenarios()}


def idiom_scenarios() -> dict[str, dict[str, Any]]:
    s: dict[str, dict[str, Any]] = {}
    s["idiom-hcc-problem-list-rated"] = select(
        [ct()],
        conditions=[
            condition("c-1", ICD, "I10", "Essential hypertension (HCC)"),
            condition("c-2", ICD, "I48.91", "Atrial fibrillation (HCC)"),
            condition(
                "c-3", ICD, "E11.65", "Type 2 diabetes mellitus with hyperglycemia (CMS-HCC)"
            ),
            condition("c-4", ICD, "E66.01", "Morbid obesity (CMS/HCC)"),
            condition("c-5", ICD, "F33.9", "Major depressive disorder, recurrent (HHS-HCC)"),
            text_condition("c-6", "Hyperlipidemia (HCC)"),
        ],
    )
    s["idiom-snomed-semantic-tags-rated"] = select(
        [ct()],
        conditions=[
            condition("c-1", SNOMED, "59621000", "Essential hypertension (disorder)"),
            condition("c-2", SNOMED, "279039007", "Low back pain (finding)"),
        ],
    )
    s["idiom-hcc-on-sorafenib"] = select(
        [ct()], conditions=[text_condition("c-1", "HCC on sorafenib")]
    )
    s["idiom-hcc-history-in-note"] = select(
        [ct()],
        conditions=[noted(condition("c-1", ICD, "K74.60", "Cirrhosis of liver (HCC)"), "h/o HCC")],
    )
    s["idiom-hepatocellular-ca"] = select(
        [ct()], conditions=[text_condition("c-1", "hepatocellular ca")]
    )
    return s


def clause_scenarios() -> dict[str, dict[str, Any]]:
    s: dict[str, dict[str, Any]] = {}
    s["clause-without-trauma-with-numbness"] = select(
        [ct()],
        conditions=[cervicalgia_noted("Neck pain without trauma, with numbness in right hand")],
    )
    s["clause-spondylosis-w-o-rated"] = select(
        [ct()],
        conditions=[
            condition(
                "c-1", ICD, "M47.812", "Spondylosis w/o myelopathy or radiculopathy, cervical"
            )
        ],
    )
    s["clause-denies-fever-however-night-sweats"] = select(
        [ct()], conditions=[cervicalgia_noted("Denies fever, however reports night sweats.")]
    )
    return s


def finding_scenarios() -> dict[str, dict[str, Any]]:
    s: dict[str, dict[str, Any]] = {}
    # the seed's findings in other words: outside the variant
    s["concept-gait-unsteady-since-last-month"] = select(
        [ct()], conditions=[text_condition("c-1", "Gait unsteady since last month", onset_days=40)]
    )
    s["concept-unsteady-on-feet"] = select(
        [ct()], conditions=[text_condition("c-1", "Unsteady on feet", onset_days=90)]
    )
    s["concept-broad-based-gait-note"] = select(
        [ct()], conditions=[cervicalgia_noted("Broad-based gait on exam.")]
    )
    s["concept-abnormal-gait-fall-risk-screening"] = select(
        [ct()],
        conditions=[
            text_condition("c-1", "Abnormal gait noted on fall-risk screening", onset_days=100)
        ],
    )
    s["concept-new-bladder-urgency-reason"] = select([with_reason("New bladder urgency x 1 week")])
    s["concept-code-r39-15-urgency"] = select(
        [ct()], conditions=[condition("c-1", ICD, "R39.15", "Urgency of urination", onset_days=100)]
    )
    s["concept-loss-of-bowel-control"] = select(
        [ct()], conditions=[text_condition("c-1", "Loss of bowel control", onset_days=100)]
    )
    s["concept-saddle-anesthesia-note"] = select([with_note("Saddle anesthesia on exam.")])
    s["concept-shooting-pain-down-right-arm"] = select(
        [with_reason("shooting pain down right arm")]
    )
    s["concept-hit-by-car"] = select(
        [ct()], conditions=[text_condition("c-1", "Hit by car 3 days ago", onset_days=3)]
    )
    s["concept-positive-spurling"] = select(
        [ct()], conditions=[cervicalgia_noted("Positive Spurling test on the right.")]
    )
    # ... and their denials, hypotheses and relatives: the variant's own patients
    s["concept-denials-rated"] = select(
        [ct()],
        conditions=[
            cervicalgia_noted(
                "Denies unsteady gait. No bowel or bladder changes. Negative Spurling test."
            )
        ],
    )
    s["concept-hypothetical-numbness-rated"] = select(
        [with_note("Return if numbness in the hand develops.")]
    )
    s["concept-mother-gait-problems-rated"] = select(
        [ct()], conditions=[cervicalgia_noted("Mother had gait problems.")]
    )
    return s
