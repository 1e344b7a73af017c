"""Scenarios: Reading the record failing safe: malformed containers, statuses, code shapes, vital signs.

Built with the helpers of ``make_scenarios.py``; their expectations are in ``tests/scenarios.yaml``.
"""

from __future__ import annotations

from typing import Any

from make_scenarios import CPT, ICD, LOINC, SNOMED, condition, order, request  # noqa: F401


def record_scenarios() -> dict[str, dict[str, Any]]:
    s: dict[str, dict[str, Any]] = {}
    return s
