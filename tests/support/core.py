"""The pipeline's dependencies for calling it without Flask: the packaged knowledge, the
default card policy, a fixed clock, no FHIR server, and a store only when asked for."""

from __future__ import annotations

from functools import cache

from cds_service.advice.cards import CardPolicy
from cds_service.clinical.compiled_knowledge import Knowledge
from cds_service.clinical.knowledge_loader import load_knowledge
from cds_service.ops.store import Store
from cds_service.pipeline import Dependencies
from cds_service.record.prefetch import refuse
from cds_service.services import Service, build_services
from support.clock import NOW


@cache
def knowledge() -> Knowledge:
    """The packaged knowledge, loaded once for the tests that need no app."""
    return load_knowledge()


def service(service_id: str) -> Service:
    return build_services(knowledge())[service_id]


def dependencies(store: Store | None = None, policy: CardPolicy | None = None) -> Dependencies:
    """A call at ``NOW`` that may read nothing from a FHIR server (its fetches are refused)."""
    return Dependencies(
        knowledge_source=knowledge,
        policy=policy or CardPolicy(),
        fetcher_for=lambda request: refuse("no FHIR server in this test"),
        clock=lambda: NOW,
        store=store,
    )
