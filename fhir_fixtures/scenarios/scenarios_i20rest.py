"""Scenarios of issue 20's leftovers (i20rest): a vascular study's recorded vascular finding
read with negation, both ways.

Built with the helpers of ``make_scenarios.py``; their expectations are in
``tests/scenarios.yaml`` (written from the seed and the clinical reference).
"""

from __future__ import annotations

from typing import Any

from make_scenarios import CGH_SNOMED, CPT, ICD, condition, order, request
from scenarios_text import noted, text_condition


def mra(**extra: Any) -> dict[str, Any]:
    return order("mra-1", (CPT, "70547"), **extra)


def mra_for(text: str) -> dict[str, Any]:
    """An MRA neck whose order gives the headache coded and a second reason in words."""
    return mra(reasonCode=[{"coding": [CGH_SNOMED]}, {"text": text}])


def neck_pain_noted(text: str) -> dict[str, Any]:
    return noted(condition("c-1", ICD, "M54.2", "Cervicalgia", onset_days=100), text)


def vascular_negation_scenarios() -> dict[str, dict[str, Any]]:
    s: dict[str, dict[str, Any]] = {}
    select = "order-select"
    # suspected in the study's own reason or note: the order asks about the artery
    s["vasc-neg-reason-rule-out-dissection"] = request(select, [mra_for("Rule out dissection")])
    s["vasc-neg-reason-question-dissection"] = request(select, [mra_for("?dissection")])
    s["vasc-neg-note-evaluate-for-vertebral-dissection"] = request(
        select, [mra(note=[{"text": "Evaluate for vertebral artery dissection."}])]
    )
    s["vasc-neg-condition-possible-dissection"] = request(
        select,
        [mra()],
        conditions=[text_condition("c-1", "Possible left carotid artery dissection")],
    )
    # denied, or a relative's: the study is rated for the headache
    s["vasc-neg-note-no-evidence-of-dissection-rated"] = request(
        select,
        [mra()],
        conditions=[neck_pain_noted("CTA 2024: no evidence of carotid artery dissection.")],
    )
    s["vasc-neg-reason-dissection-ruled-out-rated"] = request(
        select, [mra_for("Vertebral artery dissection ruled out on prior CTA")]
    )
    s["vasc-neg-family-history-dissection-rated"] = request(
        select,
        [mra()],
        conditions=[text_condition("c-1", "Family history of carotid artery dissection")],
    )
    return s
