"""The registry of CDS services: the single source of the discovery document and the handlers.

A service's description, hook, prefetch and context model live together here, so discovery
cannot drift from what the handler reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cds_service.clinical.knowledge import Knowledge
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
    """Patient, the patient's Conditions, the Observations the rules read, and the imaging
    already done (the variant is for initial imaging)."""
    loinc = knowledge.code_systems["loinc"].uri
    codes = ",".join(f"{loinc}|{code}" for code in sorted(knowledge.observation_codes_of_interest))
    studies = study_code_filter(knowledge)
    findings = finding_code_filter(knowledge)
    return {
        "patient": "Patient/{{context.patientId}}",
        "conditions": "Condition?patient={{context.patientId}}",
        # the vital signs the rules read, and examination findings coded as an exclusion's
        "observations": f"Observation?patient={{{{context.patientId}}}}&code={codes},{findings}",
        # examination findings whose coded value is an exclusion's ("numbness" as the value)
        "observationValues": (
            f"Observation?patient={{{{context.patientId}}}}&value-concept={findings}"
        ),
        "procedures": f"Procedure?patient={{{{context.patientId}}}}&code={studies}",
        "diagnosticReports": f"DiagnosticReport?patient={{{{context.patientId}}}}&code={studies}",
        # ImagingStudy has no standard search on its procedure code: all of the patient's
        "imagingStudies": "ImagingStudy?patient={{context.patientId}}",
    }


def finding_code_filter(knowledge: Knowledge) -> str:
    """The exclusion groups' SNOMED CT concepts as ``system|code`` tokens (the listed ones:
    a terminology server's descendants would make the query too long)."""
    snomed = knowledge.code_systems["snomed"].uri
    concepts = sorted({c for group in knowledge.exclusions for c in group.codes.snomed})
    return ",".join(f"{snomed}|{code}" for code in concepts)


def study_code_filter(knowledge: Knowledge) -> str:
    """Every code of the procedure table, as a token search without a system: EHRs send the
    same codes under other system URIs too (OIDs, ``https://loinc.org``), and the record layer
    keeps only the codings whose system and code identify a row."""
    return ",".join(sorted({code for _, code in knowledge.procedure_by_code}))


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
