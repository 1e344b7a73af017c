"""Reading the Argonaut pama-rating off a systemAction."""

from __future__ import annotations

from typing import Any

PAMA_URL = "http://fhir.org/argonaut/Extension/pama-rating"
PAMA_SYSTEM = "http://fhir.org/argonaut/CodeSystem/pama-rating"


def pama_of(action: dict[str, Any]) -> list[dict[str, Any]]:
    """The codings of the action's one pama-rating extension."""
    ratings = [e for e in action["resource"].get("extension", []) if e["url"] == PAMA_URL]
    assert len(ratings) == 1
    codings: list[dict[str, Any]] = ratings[0]["valueCodeableConcept"]["coding"]
    assert codings[0]["system"] == PAMA_SYSTEM
    return codings
