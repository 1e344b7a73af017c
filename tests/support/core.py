"""The pipeline's dependencies for calling it without Flask: the packaged knowledge, the
default card policy, a fixed clock, no FHIR server, and a store only when asked for."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from cds_service.advice.cards import CardPolicy
from cds_service.clinical.knowledge import Knowledge, load_knowledge
from cds_service.ops.store import Store
from cds_service.pipeline import Dependencies
from cds_service.record.facts import PatientRecord
from cds_service.record.prefetch import assemble_record, refuse
from cds_service.record.relevance import Relevance
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


def record_of(*resources: dict[str, Any], now: datetime | None = None) -> PatientRecord:
    """The record of patient ``p1`` whose one prefetch key is a searchset of ``resources``,
    made by the real stages (prefetch, selection, reading), fresh memos and no FHIR server;
    with ``now``, vital signs outside every rule's window are left out."""
    bundle = {"resourceType": "Bundle", "entry": [{"resource": r} for r in resources]}
    gathered = assemble_record(
        {"record": bundle},
        {"record": "Condition?patient={{context.patientId}}"},
        {"patientId": "p1"},
        Relevance(knowledge()),
        refuse("no FHIR server in this test"),
        now=now,
    )
    return gathered.record
