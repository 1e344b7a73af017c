"""HTTP: the Flask blueprint. It only wires the steps: body, pipeline, response, log line."""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException, ServiceUnavailable

from cds_service.errors import (
    AuthenticationFailed,
    BadRequest,
    ClientError,
    UnknownService,
    operation_outcome,
)
from cds_service.ops.feedback import FeedbackRow, log_feedback
from cds_service.ops.logs import log_call
from cds_service.ops.metrics import REQUEST_SECONDS, REQUESTS, count_cards, exposition
from cds_service.pipeline import CallTrace, Dependencies, parse, run_hook
from cds_service.protocol import FeedbackEntry, FeedbackRequest
from cds_service.services import Service, discovery
from cds_service.settings import Settings
from cds_service.web.body import json_body
from cds_service.web.problems import outcome_response
from cds_service.web.state import AppState, app_state

log = logging.getLogger("cds_service.api")

bp = Blueprint("cds", __name__)

OPEN_ENDPOINTS = frozenset({"cds.healthz", "cds.readyz", "cds.metrics"})


def _state() -> AppState:
    return app_state(current_app)


def _deps() -> Dependencies:
    return _state().dependencies


def _services() -> dict[str, Service]:
    return _state().services


def _settings() -> Settings:
    return _state().settings


def _service(service_id: str) -> Service:
    service = _services().get(service_id)
    if service is None:
        raise UnknownService(f"no CDS service '{service_id[:64]}'; see GET /cds-services")
    return service


def _body(layered: bool = False) -> dict[str, Any]:
    return json_body(current_app.config["MAX_CONTENT_LENGTH"], layered)


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
    authenticator = _state().authenticator
    if not authenticator.enabled or request.method == "OPTIONS":
        return None
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    base = _settings().public_base_url
    audience = base.rstrip("/") + request.path if base else request.base_url
    try:
        authenticator.verify(request.headers.get("Authorization"), audience)
    except AuthenticationFailed as failure:
        log.warning("refused %s %s: %s", request.method, request.path, failure.reason)
        response = outcome_response(401, _bare_401(failure))
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    return None


def _bare_401(failure: AuthenticationFailed) -> dict[str, Any]:
    """The body names no reason: that is for the log only."""
    return operation_outcome(failure.message, code=failure.code)


@bp.get("/cds-services")
def list_services() -> Response:
    body = discovery(_services().values())
    log.info("discovery", extra={"services": [s.get("id") for s in body.get("services", [])]})
    return jsonify(body)


@bp.post("/cds-services/<service_id>")
def call_service(service_id: str) -> Response:
    """A hook call: exactly one log line, whatever happens."""
    started = time.perf_counter()
    fields: dict[str, Any] = {"service": service_id[:64], "hookInstance": None, "status": 500}
    trace = CallTrace()
    try:
        service = _service(service_id)
        body = _body(layered=True)
        instance = body.get("hookInstance")
        fields["hookInstance"] = instance[:100] if isinstance(instance, str) else None
        result = run_hook(service, body, _deps(), trace)
        fields.update(status=200, **result.log_fields())
        if not result.silent:  # a silent call's cards were never shown
            count_cards(result.orders)
        return jsonify(result.body)
    except ClientError as error:  # the message names fields and reasons, never values
        fields.update(status=error.status, error=error.code, detail=error.message[:300])
        raise
    except HTTPException as error:
        fields.update(status=error.code, error=error.name)
        raise
    finally:
        if prefetch := trace.prefetch.log_field():  # keys and states only, never a value
            fields["prefetch"] = prefetch
        fields["duration_ms"] = round((time.perf_counter() - started) * 1000, 2)
        log_call(**fields)


@bp.post("/cds-services/<service_id>/feedback")
def feedback(service_id: str) -> Response:
    service = _service(service_id)
    entries = parse(FeedbackRequest, _body()).feedback
    check_accepted(entries)
    rows = [FeedbackRow.of(entry) for entry in entries]
    deps = _deps()
    if deps.store is None:  # only an app built without a store (cds-service evaluate)
        raise ServiceUnavailable("feedback is not stored by this instance")
    store = deps.store.feedback
    new = store.record(
        service.id, rows, deps.clock(), remember_overrides=service.remembers_overrides
    )
    log_feedback(store, service.id, rows, new)
    return jsonify({"received": len(rows), "new": new})


def check_accepted(entries: list[FeedbackEntry]) -> None:
    """An accepted card names the suggestions taken (CDS Hooks 2.0)."""
    for index, entry in enumerate(entries):
        if entry.outcome == "accepted" and not entry.acceptedSuggestions:
            raise BadRequest(
                f"feedback.{index}.acceptedSuggestions: required when the outcome is accepted",
                expression=[f"feedback.{index}.acceptedSuggestions"],
            )


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
    deps = _deps()
    if deps.store is not None:
        deps.store.ping()
    return jsonify({"status": "ready"})
