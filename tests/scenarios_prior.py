"""Scenarios: Initial imaging: cervical-spine imaging already in the record; the clinic's calendar.

Built with the helpers of ``make_scenarios.py``; their expectations are in ``tests/scenarios.yaml``.
"""

from __future__ import annotations

from typing import Any

from make_scenarios import CPT, ICD, LOINC, SNOMED, condition, order, request  # noqa: F401


def prior_imaging_scenarios() -> dict[str, dict[str, Any]]:
    s: dict[str, dict[str, Any]] = {}
    return s
