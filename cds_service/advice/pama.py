"""The Argonaut pama-rating: the code reported for an appraised order, and the ``update``
systemAction that records it on the draft ServiceRequest (the CDS Hooks sandbox reads it)."""

from __future__ import annotations

import copy
from typing import Any

from cds_service.appraisal.verdicts import Appraisal, Verdict
from cds_service.clinical.compiled_knowledge import Knowledge
from cds_service.clinical.knowledge_schema import CategoryKey
from cds_service.protocol import Action

PAMA_EXTENSION = "http://fhir.org/argonaut/Extension/pama-rating"
PAMA_SYSTEM = "http://fhir.org/argonaut/CodeSystem/pama-rating"
UNRATED = frozenset({Verdict.EXCLUDED, Verdict.OTHER_REGION, Verdict.VASCULAR_FINDING})


def category_pama(category: CategoryKey, knowledge: Knowledge, may_be_rating: str) -> str:
    """The pama-rating of an ACR category (``configurable``: the operator's choice)."""
    pama = knowledge.file.categories[category].pama_rating
    return may_be_rating if pama == "configurable" else pama


def pama_code(appraisal: Appraisal, knowledge: Knowledge, may_be_rating: str) -> str | None:
    """The pama-rating of an appraised order, or None when it has none to report."""
    if appraisal.order.id is None:
        return None  # nothing can reference the order to update it
    if appraisal.verdict in UNRATED:
        return "no-criteria-apply"
    if appraisal.verdict is Verdict.RATED and appraisal.category:
        return category_pama(appraisal.category, knowledge, may_be_rating)
    return None


def pama_extension(pama: str, category: CategoryKey | None, knowledge: Knowledge) -> dict[str, Any]:
    """The extension: the pama-rating coding, then the ACR category when there is one."""
    codings: list[dict[str, str]] = [
        {"system": PAMA_SYSTEM, "code": pama, "display": knowledge.file.pama_displays[pama]}  # type: ignore[index]
    ]
    if category is not None:
        codings.append(
            {
                "system": knowledge.file.rating_code_system,
                "code": category,
                "display": knowledge.file.categories[category].label,
            }
        )
    return {"url": PAMA_EXTENSION, "valueCodeableConcept": {"coding": codings}}


def with_extension(resource: dict[str, Any], extension: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``resource`` whose pama-rating extension is ``extension`` (any other kept)."""
    result = copy.deepcopy(resource)
    kept = [
        e
        for e in result.get("extension") or ()
        if not (isinstance(e, dict) and e.get("url") == PAMA_EXTENSION)
    ]
    result["extension"] = [*kept, extension]
    return result


def rating_action(appraisal: Appraisal, knowledge: Knowledge, pama: str | None) -> Action | None:
    """An update adding the pama-rating extension (``pama``, see :func:`pama_code`) to the
    draft order, else None."""
    if pama is None:
        return None
    category = appraisal.category if appraisal.verdict is Verdict.RATED else None
    texts = knowledge.file.texts
    description = (
        texts.rating_description.format(
            category=knowledge.file.categories[category].label,
            pama=pama,
        )
        if category
        else texts.rating_description_unrated.format(pama=pama)
    )
    resource = with_extension(appraisal.order.raw, pama_extension(pama, category, knowledge))
    return Action(type="update", description=description, resource=resource)
