"""The registry of CDS services: the single source of the discovery document and of what each
service reads and does.

A service owns its description, hook, context model, prefetch keys (a key whose data can be
neither sent nor fetched refuses the call: 412), which orders it appraises and whether it
honours the clinician's earlier overrides, so that discovery cannot drift from what the
pipeline does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cds_service.clinical.compiled_knowledge import Knowledge
from cds_service.protocol import OrderSelectContext, OrderSignContext, ServiceDescription
from cds_service.record.drafts import selected
from cds_service.record.facts import Order
from cds_service.record.templates import prefetch_templates


class OrderScope(StrEnum):
    SELECTIONS = "selections"
    """The orders named in ``context.selections`` (order-select)."""
    ALL_DRAFTS = "all-drafts"
    """Every draft order (order-sign)."""


@dataclass(frozen=True)
class PrefetchKey:
    name: str
    template: str

    @property
    def resource_type(self) -> str:
        """The FHIR type the template reads or searches (``Condition?patient=...``)."""
        return self.template.lstrip("/").split("?", 1)[0].split("/", 1)[0]

    @property
    def read_scopes(self) -> tuple[str, str]:
        """The SMART scope that lets the service read it: v1 (``patient/X.read``) and v2
        (``patient/X.rs``) spellings. Without it the EHR's FHIR server answers 403."""
        return f"patient/{self.resource_type}.read", f"patient/{self.resource_type}.rs"


@dataclass(frozen=True)
class Service:
    id: str
    hook: str
    title: str
    description: str
    context_model: type[OrderSignContext]
    prefetch: tuple[PrefetchKey, ...]
    scope: OrderScope
    hides_overridden_cards: bool
    """Looks up the cards overridden at order-select, and shows them no more (order-sign)."""
    remembers_overrides: bool
    """An override of one of its cards hides that card from later calls (order-select)."""

    @property
    def templates(self) -> dict[str, str]:
        return {key.name: key.template for key in self.prefetch}

    def orders_to_appraise(self, drafts: Sequence[Order], context: OrderSignContext) -> list[Order]:
        """The draft orders this service appraises, in Bundle order."""
        if self.scope is OrderScope.SELECTIONS and isinstance(context, OrderSelectContext):
            return selected(drafts, context.selections)
        return list(drafts)

    def description_document(self) -> dict[str, Any]:
        """Its entry in the discovery document."""
        return ServiceDescription(
            hook=self.hook,
            title=self.title,
            description=self.description,
            id=self.id,
            prefetch=self.templates,
        ).model_dump(exclude_none=True)


def prefetch_keys(templates: Mapping[str, str]) -> tuple[PrefetchKey, ...]:
    return tuple(PrefetchKey(name, template) for name, template in templates.items())


def build_services(knowledge: Knowledge) -> dict[str, Service]:
    topic, variant = knowledge.file.guideline.title, knowledge.file.variant.title
    prefetch = prefetch_keys(prefetch_templates(knowledge))
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
            prefetch=prefetch,
            scope=OrderScope.SELECTIONS,
            hides_overridden_cards=False,
            remembers_overrides=True,
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
            prefetch=prefetch,
            scope=OrderScope.ALL_DRAFTS,
            hides_overridden_cards=True,
            remembers_overrides=False,
        ),
    ]
    return {service.id: service for service in services}


def discovery(services: Iterable[Service]) -> dict[str, Any]:
    """The ``GET /cds-services`` document, generated from the registry."""
    return {"services": [s.description_document() for s in services]}
