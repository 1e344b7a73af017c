"""One hook call, end to end and free of HTTP: request JSON in, response JSON out."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from cds_service.advice.cards import Advice, CardPolicy, respond
from cds_service.appraisal.criteria import Appraisal, Verdict, appraise, classify_order
from cds_service.clinical.knowledge import Knowledge
from cds_service.errors import BadRequest
from cds_service.ops.store import AppraisalRow, Store
from cds_service.protocol import HookRequest, OrderSelectContext, to_wire
from cds_service.record.drafts import read_draft_orders, selected
from cds_service.record.prefetch import Fetcher, gather
from cds_service.record.readers import Skipped
from cds_service.services import Service, prefetch_templates

M = TypeVar("M", bound=BaseModel)

OVERRIDE_WINDOW = timedelta(hours=24)
"""An order-select override hides the same card at order-sign for this long."""

FetcherFactory = Callable[[HookRequest], Fetcher]


@dataclass(frozen=True)
class Engine:
    """What a hook call needs besides the request: knowledge, policy, FHIR access, clock."""

    knowledge_source: Callable[[], Knowledge]
    """The current knowledge (the terminology updater swaps in new SNOMED CT expansions)."""
    policy: CardPolicy
    fetcher_for: FetcherFactory
    clock: Callable[[], datetime]
    store: Store | None = None
    tzinfo: tzinfo = UTC
    """The clinic's time zone (CDS_TIMEZONE): the rules' ``now.date()`` is the clinic's date."""

    @property
    def knowledge(self) -> Knowledge:
        """The knowledge now; read it once per call, so that one call sees one version."""
        return self.knowledge_source()


def parse(model: type[M], data: object, where: str = "") -> M:
    """Validate ``data`` against ``model``; a failure is a 400 naming each field and why."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems, paths = [], []
        for error in exc.errors()[:10]:
            path = ".".join([where] * bool(where) + [str(p) for p in error["loc"]]) or "(body)"
            paths.append(path)
            problems.append(f"{path}: {error['msg']}")
        raise BadRequest("; ".join(problems), expression=paths) from None


@dataclass(frozen=True)
class Outcome:
    """The response of a hook call and what its log line and metrics say of it."""

    body: dict[str, Any]
    ratings: tuple[str, ...] = ()
    indicators: tuple[str, ...] = ()
    fetched: tuple[str, ...] = ()
    skipped: int = 0

    @property
    def cards(self) -> int:
        return len(self.body.get("cards", ()))


def handle(service: Service, body: Mapping[str, Any], engine: Engine) -> Outcome:
    """Validate a hook request for ``service``, appraise its orders, return the response."""
    request = parse(HookRequest, body)
    if request.hook != service.hook:
        raise BadRequest(
            f"hook '{request.hook}' does not match service '{service.id}', "
            f"which answers '{service.hook}'",
            expression=["hook"],
        )
    context = parse(service.context_model, request.context, "context")
    knowledge = engine.knowledge
    skipped = Skipped()
    drafts = read_draft_orders(context.draftOrders, knowledge.system_uris, skipped)
    targets = list(drafts.orders)
    if service.selected_orders_only and isinstance(context, OrderSelectContext):
        targets = selected(targets, context.selections)
    if not any(classify_order(order, knowledge) for order in targets):
        # nothing to appraise: no need for the record
        return Outcome({"cards": []})
    now = engine.clock()  # the store keeps this instant as it is (UTC); the windows use it
    gathered = gather(
        request.prefetch,
        prefetch_templates(knowledge),
        request.context,
        knowledge,
        engine.fetcher_for(request),
        now=now,
    )
    clinic_now = now.astimezone(engine.tzinfo)  # the same instant, on the clinic's calendar
    record = gathered.record
    if drafts.conditions:  # entered during this visit, carried with the draft orders
        record = replace(
            record,
            conditions=record.conditions + drafts.conditions,
            conditions_read=record.conditions_read + len(drafts.conditions),
        )
    appraisals = appraise(targets, record, knowledge, clinic_now, drafts.references)
    hidden: frozenset[str] = frozenset()
    if engine.store is not None and not service.selected_orders_only:
        refs = [o.reference for o in targets if o.reference]
        overridden = engine.store.overridden_orders(
            context.patientId, refs, since=now - OVERRIDE_WINDOW
        )
        hidden = frozenset(  # the same advice only, and never an escalation warning
            a.order.reference
            for a in appraisals
            if a.order.reference
            and not a.escalate
            and (a.order.reference, advice_key(a)) in overridden
        )
    advice = respond(appraisals, drafts.orders, knowledge, engine.policy, clinic_now, hidden)
    if engine.store is not None:
        engine.store.record_call(
            request.hookInstance,
            service.id,
            now,
            context.patientId,
            audit_rows(appraisals, advice, knowledge),
        )
    shown = [(a, c) for a, c in zip(appraisals, advice.cards, strict=True) if c is not None]
    return Outcome(
        body=to_wire(advice.response),
        ratings=tuple(rating_label(a) for a, _ in shown),
        indicators=tuple(c.indicator for _, c in shown),
        fetched=gathered.fetched,
        skipped=len(gathered.skipped.resources),
    )


def advice_key(appraisal: Appraisal) -> str:
    """What a card says, hashed: its procedure, rating and the findings' groups (no text)."""
    groups = sorted({f.group_id for f in appraisal.findings})
    procedure = appraisal.procedure.id if appraisal.procedure else ""
    said = "|".join([procedure, rating_label(appraisal), ",".join(groups)])
    return hashlib.sha256(said.encode()).hexdigest()[:32]


def rating_label(appraisal: Appraisal) -> str:
    """The ACR category of a rated order, else why it has none (excluded, unspecified)."""
    return appraisal.category or appraisal.verdict.value


def audit_rows(
    appraisals: Sequence[Appraisal], advice: Advice, knowledge: Knowledge
) -> list[AppraisalRow]:
    """What the store keeps of each appraised order: ids, codes, ratings, card uuids, and the
    knowledge file (id and version) that appraised it."""
    return [
        AppraisalRow(
            order_ref=a.order.reference,
            procedure=a.procedure.id if a.procedure else None,
            verdict=a.verdict.value,
            rating=a.category,
            pama=rating,
            card_uuid=card.uuid if card else None,
            indicator=card.indicator if card else None,
            advice_key=advice_key(a),
            knowledge_id=knowledge.id,
            knowledge_version=knowledge.version,
        )
        for a, card, rating in zip(appraisals, advice.cards, advice.ratings, strict=True)
        if a.verdict is not Verdict.NOT_APPLICABLE
    ]
