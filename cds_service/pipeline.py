"""One hook call, end to end and free of HTTP: request JSON in, one result per order out.

    parse_call        the request and its typed context, validated once
    read_draft_orders the draft ServiceRequests (and the Conditions entered with them)
    assemble_record   the patient record: prefetch, then the FHIR server for what it lacks
    appraise          each order against the ACR rules
    Adviser.advise    each order's card, pama-rating and systemAction
    AuditTrail        what the store keeps of each order

The response, the audit rows, the log line and the metrics are all read from the
:class:`HookResult` and its :class:`AppraisedOrder` objects.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from cds_service.advice.appraised import Adviser, AppraisedOrder, response_of
from cds_service.advice.cards import CardPolicy
from cds_service.appraisal.criteria import appraise
from cds_service.appraisal.labels import advice_key
from cds_service.appraisal.table_rows import classify_order
from cds_service.appraisal.verdicts import Appraisal
from cds_service.clinical.compiled_knowledge import Knowledge
from cds_service.clinical.knowledge_schema import Procedure
from cds_service.errors import BadRequest
from cds_service.ops.audit import audit_rows
from cds_service.ops.store import Store
from cds_service.protocol import HookRequest, OrderSignContext, RequestLimits, to_wire
from cds_service.record.drafts import DraftOrders, read_draft_orders
from cds_service.record.facts import Order, PatientRecord
from cds_service.record.prefetch import Fetcher, assemble_record
from cds_service.record.prefetch_trace import PrefetchTrace
from cds_service.record.readers import Skipped
from cds_service.record.relevance import Relevance
from cds_service.services import Service

M = TypeVar("M", bound=BaseModel)

OVERRIDE_WINDOW = timedelta(hours=24)
"""An order-select override hides the same card at order-sign for this long."""

FetcherForCall = Callable[[HookRequest], Fetcher]
"""Gives a hook call the fetcher of its FHIR server (or one that refuses)."""


@dataclass(frozen=True)
class Dependencies:
    """What a hook call needs besides the request: knowledge, policy, FHIR access, clock."""

    knowledge_source: Callable[[], Knowledge]
    """The current knowledge (the terminology updater swaps in new SNOMED CT expansions)."""
    policy: CardPolicy
    fetcher_for: FetcherForCall
    clock: Callable[[], datetime]
    store: Store | None = None
    tzinfo: tzinfo = UTC
    """The clinic's time zone (CDS_TIMEZONE): the rules' ``now.date()`` is the clinic's date."""
    silent: bool = False
    """CDS_MODE=silent: appraise and audit every call, answer no card and no systemAction."""
    limits: RequestLimits | None = None
    """The work one call may ask for (draft orders, prefetch resources); None: unlimited."""

    @property
    def knowledge(self) -> Knowledge:
        """The knowledge now; read it once per call, so that one call sees one version."""
        return self.knowledge_source()


@dataclass(frozen=True)
class Call:
    """A validated hook request for one service."""

    service: Service
    request: HookRequest
    context: OrderSignContext


@dataclass(frozen=True)
class HookResult:
    """The response of a hook call, and what its log line and metrics say of it."""

    orders: tuple[AppraisedOrder, ...] = ()
    fetched: tuple[str, ...] = ()
    skipped: int = 0
    """Resources the FHIR models rejected: draft orders and record alike."""
    silent: bool = False
    """Answered with no card and no systemAction (CDS_MODE=silent); audited as live."""

    @property
    def body(self) -> dict[str, Any]:
        if self.silent:
            return {"cards": []}
        return to_wire(response_of(self.orders))

    @property
    def shown(self) -> tuple[AppraisedOrder, ...]:
        """The orders that got a card."""
        return tuple(o for o in self.orders if o.card is not None)

    def log_fields(self) -> dict[str, Any]:
        """What the call's log line says of it: ids, counts and ratings, never content."""
        shown = self.shown
        fields = {
            "cards": len(shown),
            "ratings": [o.rating for o in shown],
            "fetched": list(self.fetched),
            "skipped": self.skipped,
        }
        return {**fields, "mode": "silent"} if self.silent else fields


@dataclass
class CallTrace:
    """What one call saw, filled in as it runs (so that a call ending in 412 has it too):
    each prefetch key, the draft orders and the table row each was classified as, and the
    orders whose card an override hid. ``cds-service evaluate --explain`` prints it with the
    result; the call's log line names the keys that came missing or failed."""

    prefetch: PrefetchTrace = field(default_factory=PrefetchTrace)
    drafts: tuple[Order, ...] = ()
    appraised: tuple[tuple[Order, Procedure | None], ...] = ()
    """The orders the service appraises (order-select: the selections) and their rows."""
    hidden: frozenset[str] = frozenset()


def parse(model: type[M], data: object, where: str = "", limits: RequestLimits | None = None) -> M:
    """Validate ``data`` against ``model`` (within ``limits``); a failure is a 400 naming each
    field (a name cut at 64 characters) and why."""
    try:
        return model.model_validate(data, context=limits)
    except ValidationError as exc:
        problems, paths = [], []
        for error in exc.errors()[:10]:
            names = [where] * bool(where) + [str(p)[:64] for p in error["loc"]]
            path = ".".join(names) or "(body)"
            paths.append(path)
            problems.append(f"{path}: {error['msg']}")
        raise BadRequest("; ".join(problems), expression=paths) from None


def parse_call(
    service: Service, body: Mapping[str, Any], limits: RequestLimits | None = None
) -> Call:
    """The request, checked against the service's hook, and its context as the hook's model,
    both within ``limits``."""
    request = parse(HookRequest, body, limits=limits)
    if request.hook != service.hook:
        raise BadRequest(
            f"hook '{request.hook}' does not match service '{service.id}', "
            f"which answers '{service.hook}'",
            expression=["hook"],
        )
    context = parse(service.context_model, request.context, "context", limits)
    return Call(service, request, context)


def run_hook(
    service: Service, body: Mapping[str, Any], deps: Dependencies, trace: CallTrace | None = None
) -> HookResult:
    """Validate a hook request for ``service``, appraise its orders, record and answer;
    ``trace`` is told what the call saw (see :class:`CallTrace`)."""
    trace = trace if trace is not None else CallTrace()
    call = parse_call(service, body, deps.limits)
    knowledge = deps.knowledge
    skipped = Skipped()
    drafts = read_draft_orders(call.context.draftOrders, knowledge.codes.system_uris, skipped)
    targets = service.orders_to_appraise(drafts.orders, call.context)
    procedures = [classify_order(order, knowledge) for order in targets]  # once per order
    trace.drafts = tuple(drafts.orders)
    trace.appraised = tuple(zip(targets, procedures, strict=True))
    if not any(procedures):
        # nothing to appraise: no record
        return HookResult(skipped=len(skipped.resources), silent=deps.silent)
    now = deps.clock()  # the store keeps this instant as it is (UTC); the windows use it
    gathered = assemble_record(
        call.request.prefetch,
        service.templates,
        dict(call.context),  # the typed context's fields: the templates' tokens
        knowledge.derived(Relevance),  # memos kept with their knowledge version
        deps.fetcher_for(call.request),
        now=now,
        trace=trace.prefetch,
    )
    clinic_now = now.astimezone(deps.tzinfo)  # the same instant, on the clinic's calendar
    record = with_draft_conditions(gathered.record, drafts)
    appraisals = appraise(
        targets, record, knowledge, clinic_now, drafts.references, procedures=procedures
    )
    trace.hidden = hidden = hidden_orders(call, appraisals, deps, now, knowledge)
    adviser = Adviser(knowledge, deps.policy, clinic_now, drafts.orders)
    orders = tuple(adviser.advise(a, hidden=a.order.reference in hidden) for a in appraisals)
    record_call(call, orders, knowledge, deps, now)
    skipped_count = len(skipped.resources) + len(gathered.skipped.resources)
    return HookResult(orders, gathered.fetched, skipped_count, silent=deps.silent)


def record_call(
    call: Call,
    orders: Sequence[AppraisedOrder],
    knowledge: Knowledge,
    deps: Dependencies,
    now: datetime,
) -> None:
    """The audit trail's row of the call (live or silent alike) and of its orders."""
    if deps.store is None:
        return
    deps.store.audit.record_call(
        call.request.hookInstance,
        call.service.id,
        now,
        call.context.patientId,
        audit_rows(orders, knowledge),
        silent=deps.silent,
        user_id=call.context.userId,
    )


def with_draft_conditions(record: PatientRecord, drafts: DraftOrders) -> PatientRecord:
    """The record plus the Conditions entered during this visit, carried with the orders."""
    if not drafts.conditions:
        return record
    return replace(
        record,
        conditions=record.conditions + drafts.conditions,
        conditions_read=record.conditions_read + len(drafts.conditions),
    )


def hidden_orders(
    call: Call,
    appraisals: Sequence[Appraisal],
    deps: Dependencies,
    now: datetime,
    knowledge: Knowledge,
) -> frozenset[str]:
    """The orders whose card the clinician overrode at order-select within the window: the
    same advice only (its topic code), and never an escalation warning."""
    if deps.store is None or not call.service.hides_overridden_cards:
        return frozenset()
    refs = [a.order.reference for a in appraisals if a.order.reference]
    overridden = deps.store.audit.overridden_orders(
        call.context.patientId, refs, since=now - OVERRIDE_WINDOW
    )
    return frozenset(
        a.order.reference
        for a in appraisals
        if a.order.reference
        and not a.escalate
        and (a.order.reference, advice_key(a, knowledge)) in overridden
    )
