"""One hook call, end to end and free of HTTP: request JSON in, response JSON out."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from cds_service.cards import CardPolicy, respond
from cds_service.criteria import appraise, classify_order
from cds_service.errors import BadRequest
from cds_service.fhir_read import Skipped
from cds_service.knowledge import Knowledge
from cds_service.orders import read_draft_orders, selected
from cds_service.protocol import HookRequest, OrderSelectContext, to_wire
from cds_service.record import Fetcher, gather
from cds_service.services import Service, prefetch_templates

M = TypeVar("M", bound=BaseModel)

FetcherFactory = Callable[[HookRequest], Fetcher]


@dataclass(frozen=True)
class Engine:
    """What a hook call needs besides the request: knowledge, policy, FHIR access, clock."""

    knowledge: Knowledge
    policy: CardPolicy
    fetcher_for: FetcherFactory
    clock: Callable[[], datetime]


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


def handle(service: Service, body: Mapping[str, Any], engine: Engine) -> dict[str, Any]:
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
        return {"cards": []}  # nothing to appraise: no need for the record
    gathered = gather(
        request.prefetch,
        prefetch_templates(knowledge),
        request.context,
        knowledge,
        engine.fetcher_for(request),
    )
    now = engine.clock()
    appraisals = appraise(targets, gathered.record, knowledge, now, drafts.references)
    return to_wire(respond(appraisals, drafts.orders, knowledge, engine.policy, now))
