"""HTTP: the Flask blueprint. It only wires the steps; nothing below it imports Flask."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import orjson
from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge, ServiceUnavailable

from cds_service.errors import (
    ISSUE_EXCEPTION,
    ISSUE_NOT_SUPPORTED,
    ISSUE_STRUCTURE,
    ISSUE_TOO_LONG,
    BadRequest,
    CdsError,
    UnknownService,
    operation_outcome,
)
from cds_service.ops.logs import log_call
from cds_service.ops.metrics import CARDS, REQUEST_SECONDS, REQUESTS, exposition
from cds_service.ops.store import FeedbackRow
from cds_service.pipeline import Engine, handle, parse
from cds_service.protocol import FeedbackRequest
from cds_service.services import Service, discovery
from cds_service.web.auth import AuthenticationFailed, Authenticator

log = logging.getLogger(__name__)

bp = Blueprint("cds", __name__)

JSON_TYPES = ("application/json", "application/fhir+json")


def _engine() -> Engine:
    engine: Engine = current_app.extensions["cds_engine"]
    return engine


def _services() -> dict[str, Service]:
    services: dict[str, Service] = current_app.extensions["cds_services"]
    return services


OPEN_ENDPOINTS = frozenset({"cds.healthz", "cds.readyz", "cds.metrics"})
DISCARD_FACTOR = 4
"""A body over the limit is read and thrown away up to this many times the limit before the
413, so that an ordinary client (which sends its whole body first) reads the 413."""


@bp.before_request
def start_timer() -> None:
    g.cds_started = time.perf_counter()


@bp.after_request
def count_request(response: Response) -> Response:
    """Requests and latency per service (or endpoint) and status, for /metrics."""
    label = _metric_label()
    if label is not None and "cds_started" in g:
        status = str(response.status_code)
        REQUESTS.labels(label, status).inc()
        REQUEST_SECONDS.labels(label, status).observe(time.perf_counter() - g.cds_started)
    return response


def _metric_label() -> str | None:
    endpoint = request.endpoint or ""
    service_id = (request.view_args or {}).get("service_id")
    known = service_id if service_id in _services() else "unknown"
    return {
        "cds.call_service": known,
        "cds.feedback": f"{known}/feedback",
        "cds.list_services": "discovery",
    }.get(endpoint)


@bp.before_request
def authenticate() -> Response | None:
    """Every call but health checks and CORS preflight carries the EHR's JWT (when configured)."""
    authenticator: Authenticator = current_app.extensions["cds_authenticator"]
    if not authenticator.enabled or request.method == "OPTIONS":
        return None
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    base = current_app.extensions["cds_settings"].public_base_url
    audience = base.rstrip("/") + request.path if base else request.base_url
    try:
        authenticator.verify(request.headers.get("Authorization"), audience)
    except AuthenticationFailed as failure:
        log.warning("refused %s %s: %s", request.method, request.path, failure.reason)
        response = _outcome_response(
            401, operation_outcome("authentication required", code="login")
        )
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    return None


@bp.get("/cds-services")
def list_services() -> Response:
    body = discovery(_services(), _engine().knowledge)
    log.info("discovery", extra={"services": [s.get("id") for s in body.get("services", [])]})
    return jsonify(body)


@bp.post("/cds-services/<service_id>")
def call_service(service_id: str) -> Response:
    """A hook call: exactly one log line, whatever happens."""
    started = time.perf_counter()
    fields: dict[str, Any] = {"service": service_id[:64], "hookInstance": None, "status": 500}
    try:
        service = _services().get(service_id)
        if service is None:
            raise UnknownService(f"no CDS service '{service_id[:64]}'; see GET /cds-services")
        body = json_body()
        instance = body.get("hookInstance")
        fields["hookInstance"] = instance[:100] if isinstance(instance, str) else None
        check_caps(body, current_app.extensions["cds_settings"])
        outcome = handle(service, body, _engine())
        fields.update(
            status=200,
            cards=outcome.cards,
            ratings=list(outcome.ratings),
            fetched=list(outcome.fetched),
            skipped=outcome.skipped,
        )
        for indicator, rating in zip(outcome.indicators, outcome.ratings, strict=True):
            CARDS.labels(indicator, rating).inc()
        return jsonify(outcome.body)
    except CdsError as error:  # the message names fields and reasons, never values
        fields.update(status=error.status, error=error.code, detail=error.message[:300])
        raise
    except HTTPException as error:
        fields.update(status=error.code, error=error.name)
        raise
    finally:
        fields["duration_ms"] = round((time.perf_counter() - started) * 1000, 2)
        log_call(**fields)


@bp.post("/cds-services/<service_id>/feedback")
def feedback(service_id: str) -> Response:
    if service_id not in _services():
        raise UnknownService(f"no CDS service '{service_id[:64]}'; see GET /cds-services")
    entries = parse(FeedbackRequest, json_body()).feedback
    for index, entry in enumerate(entries):
        if entry.outcome == "accepted" and not entry.acceptedSuggestions:
            raise BadRequest(
                f"feedback.{index}.acceptedSuggestions: required when the outcome is accepted",
                expression=[f"feedback.{index}.acceptedSuggestions"],
            )
    rows = [
        FeedbackRow(
            card_uuid=entry.card,
            outcome=entry.outcome,
            outcome_timestamp=entry.outcomeTimestamp,
            accepted_suggestions=tuple(s.id for s in entry.acceptedSuggestions or ()),
            override_system=_reason(entry, "system"),
            override_code=_reason(entry, "code"),
            override_display=_reason(entry, "display"),
            has_user_comment=bool(entry.overrideReason and entry.overrideReason.userComment),
        )
        for entry in entries
    ]
    engine = _engine()
    if engine.store is None:  # only an app built without a store (cds-service evaluate)
        raise ServiceUnavailable("feedback is not stored by this instance")
    new = engine.store.record_feedback(service_id, rows, engine.clock())
    _log_feedback(engine, service_id, rows, new)
    return jsonify({"received": len(rows), "new": new})


def _log_feedback(engine: Engine, service_id: str, rows: list[FeedbackRow], new: int) -> None:
    """One line per feedback POST (outcome counts and card ids, never a comment or a reason's
    text), and a warning for each card that now has more than one outcome (accepted, then
    overridden)."""
    from sqlalchemy import select

    from cds_service.ops.store import Feedback

    counts: dict[str, int] = {}
    for row in rows:
        counts[row.outcome] = counts.get(row.outcome, 0) + 1
    cards = sorted({row.card_uuid[:64] for row in rows})
    log.info(
        "feedback",
        extra={
            "service": service_id,
            "received": len(rows),
            "new": new,
            "outcomes": counts,
            "cards": cards[:100],
        },
    )
    if not new or engine.store is None:
        return
    seen: dict[str, set[str]] = {}
    with engine.store.engine.connect() as connection:
        found = connection.execute(
            select(Feedback.card_uuid, Feedback.outcome)
            .where(Feedback.service == service_id, Feedback.card_uuid.in_(cards))
            .distinct()
        )
        for card, outcome in found:
            seen.setdefault(card, set()).add(outcome)
    for card, outcomes in sorted(seen.items()):
        if len(outcomes) > 1:
            log.warning(
                "conflicting feedback outcomes for one card",
                extra={"service": service_id, "card": card, "outcomes": sorted(outcomes)},
            )


def _reason(entry: Any, field: str) -> str | None:
    reason = entry.overrideReason.reason if entry.overrideReason else None
    value = getattr(reason, field, None) if reason else None
    return value if isinstance(value, str) else None


@bp.get("/metrics")
def metrics() -> Response:
    payload, content_type = exposition()
    return Response(payload, content_type=content_type)


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness: the process answers. It does not touch the store (see /readyz)."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    """Readiness: the store answers too; a 503 with an OperationOutcome when it does not."""
    engine = _engine()
    if engine.store is not None:
        engine.store.ping()
    return jsonify({"status": "ready"})


def check_caps(body: dict[str, Any], settings: Any) -> None:
    """The work one call may ask for: draft orders, and resources per prefetch key (a 400
    naming the limit and its setting)."""
    context = body.get("context")
    drafts = context.get("draftOrders") if isinstance(context, dict) else None
    entries = drafts.get("entry") if isinstance(drafts, dict) else None
    if isinstance(entries, list) and len(entries) > settings.max_draft_orders:
        raise BadRequest(
            f"context.draftOrders has {len(entries)} entries, more than the limit of "
            f"{settings.max_draft_orders} (CDS_MAX_DRAFT_ORDERS)",
            expression=["context.draftOrders"],
        )
    prefetch = body.get("prefetch")
    for key, value in prefetch.items() if isinstance(prefetch, dict) else ():
        found = value.get("entry") if isinstance(value, dict) else None
        if isinstance(found, list) and len(found) > settings.max_prefetch_resources:
            raise BadRequest(
                f"prefetch.{str(key)[:64]} has more than the limit of "
                f"{settings.max_prefetch_resources} resources (CDS_MAX_PREFETCH_RESOURCES)",
                expression=[f"prefetch.{str(key)[:64]}"],
            )


def json_body() -> dict[str, Any]:
    """The request body as a JSON object, or the right 4xx."""
    mimetype = (request.mimetype or "").lower()
    if mimetype not in JSON_TYPES and not mimetype.endswith("+json"):
        raise _UnsupportedMediaType(
            f"Content-Type must be application/json, not '{request.content_type or 'none'}'"
        )
    raw = read_body(current_app.config["MAX_CONTENT_LENGTH"])
    try:  # orjson decodes a large prefetch faster (see benchmarks/bench_record.py)
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:  # the standard library judges what orjson refuses
        body = _stdlib_loads(raw)
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object", expression=["(body)"])
    return body


def _stdlib_loads(raw: bytes) -> Any:
    """What orjson refuses, read as before: NaN and Infinity (a 400 naming them), depth, bad
    encodings and invalid JSON get the standard library's message; what it accepts (a lone
    surrogate escape, an integer of hundreds of digits, a UTF-8 BOM) is read as it reads it."""
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"request body is not valid JSON: {_json_error(exc)}") from None


def read_body(limit: int) -> bytes:
    """The body in one read of the declared length (413 past ``limit``); a body without
    Content-Length (chunked) is read up to ``limit`` + 1 bytes."""
    stream = request.environ["wsgi.input"]
    length = request.content_length
    try:
        if length is not None:
            if length > limit:
                _discard(stream, min(length, limit * DISCARD_FACTOR))
                raise RequestEntityTooLarge()
            data: bytes = stream.read(length)
            return data
        data = stream.read(limit + 1)
    except RequestEntityTooLarge:
        raise
    except Exception as exc:  # a malformed chunked body, a client gone: the server's own types
        raise BadRequest(
            f"request body could not be read ({type(exc).__name__}); malformed chunked encoding?"
        ) from None
    if len(data) > limit:
        _discard(stream, limit * (DISCARD_FACTOR - 1))
        raise RequestEntityTooLarge()
    return data


def _discard(stream: Any, size: int) -> None:
    """Read and drop up to ``size`` bytes of a body we refuse, so the client reads the 413."""
    left = size
    while left > 0:
        chunk = stream.read(min(left, 1024 * 1024))
        if not chunk:
            return
        left -= len(chunk)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _json_error(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc).split("\n", 1)[0][:200]


class _UnsupportedMediaType(CdsError):
    status = 415
    code = ISSUE_NOT_SUPPORTED


# --------------------------------------------------------------------------- errors

_HTTP_ISSUE = {
    404: "not-found",
    405: ISSUE_NOT_SUPPORTED,
    413: ISSUE_TOO_LONG,
    415: ISSUE_NOT_SUPPORTED,
}


def _outcome_response(status: int, body: dict[str, Any]) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


def on_cds_error(error: CdsError) -> Response:
    response = _outcome_response(
        error.status,
        operation_outcome(error.message, code=error.code, expression=error.expression),
    )
    if error.status == 503:
        response.headers["Retry-After"] = "5"
    return response


def on_http_error(error: HTTPException) -> Response:
    status = error.code or 500
    message = error.description or error.name
    if status == 413:
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        message = f"request body is larger than the limit of {limit} bytes"
    response = _outcome_response(
        status,
        operation_outcome(message, code=_HTTP_ISSUE.get(status, ISSUE_STRUCTURE)),
    )
    allow = error.get_response().headers.get("Allow")
    if allow:
        response.headers["Allow"] = allow
    if status == 413:
        response.headers["Connection"] = "close"  # what is left of the body is not read
    return response


def on_unexpected(error: Exception) -> Response:
    log.exception("unexpected error while handling %s %s", request.method, request.path)
    return _outcome_response(
        500,
        operation_outcome("internal error; the event has been logged", code=ISSUE_EXCEPTION),
    )


def register(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_error_handler(CdsError, on_cds_error)
    app.register_error_handler(HTTPException, on_http_error)
    app.register_error_handler(Exception, on_unexpected)
