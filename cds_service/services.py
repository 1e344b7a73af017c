"""The registry of CDS services: the single source of the discovery document and the handlers.

A service's description, hook, prefetch and context model live together here, so discovery
cannot drift from what the handler reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cds_service.knowledge import Knowledge
from cds_service.protocol import OrderSelectContext, OrderSignContext, ServiceDescription


@dataclass(frozen=True)
class Service:
    id: str
    hook: str
    title: str
    description: str
    context_model: type[OrderSignContext]
    selected_orders_only: bool


def prefetch_templates(knowledge: Knowledge) -> dict[str, str]:
    """Patient, the patient's Conditions, and the Observations the rules read."""
    loinc = knowledge.code_systems["loinc"].uri
    codes = ",".join(f"{loinc}|{code}" for code in sorted(knowledge.observation_codes_of_interest))
    return {
        "patient": "Patient/{{context.patientId}}",
        "conditions": "Condition?patient={{context.patientId}}",
        "observations": f"Observation?patient={{{{context.patientId}}}}&code={codes}",
    }


def build_services(knowledge: Knowledge) -> dict[str, Service]:
    topic = knowledge.guideline.title
    variant = knowledge.variant.title
    services = [
        Service(
            id="order-select",
            hook="order-select",
            title="Cervical spine imaging: ACR appropriateness (order select)",
            description=(
                f"Appraises the selected imaging orders against the {topic} for the variant "
                f"'{variant}' and offers MRI cervical spine without IV contrast in place of "
                "studies rated Usually not appropriate."
            ),
            context_model=OrderSelectContext,
            selected_orders_only=True,
        ),
        Service(
            id="order-sign",
            hook="order-sign",
            title="Cervical spine imaging: ACR appropriateness (order sign)",
            description=(
                f"Appraises every draft imaging order against the {topic} for the variant "
                f"'{variant}' before signing, and records the rating on each order."
            ),
            context_model=OrderSignContext,
            selected_orders_only=False,
        ),
    ]
    return {service.id: service for service in services}


def discovery(services: dict[str, Service], knowledge: Knowledge) -> dict[str, Any]:
    """The ``GET /cds-services`` document, generated from the registry."""
    prefetch = prefetch_templates(knowledge)
    return {
        "services": [
            ServiceDescription(
                hook=s.hook,
                title=s.title,
                description=s.description,
                id=s.id,
                prefetch=prefetch,
            ).model_dump(exclude_none=True)
            for s in services.values()
        ]
    }
