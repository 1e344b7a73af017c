"""Every error as ``application/json`` with a FHIR OperationOutcome body naming the fault:
never HTML, never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from cds_service.errors import (
    ISSUE_EXCEPTION,
    ISSUE_NOT_SUPPORTED,
    ISSUE_STRUCTURE,
    ISSUE_TOO_LONG,
    ClientError,
    operation_outcome,
)

log = logging.getLogger("cds_service.api")

_HTTP_ISSUE = {
    404: "not-found",
    405: ISSUE_NOT_SUPPORTED,
    413: ISSUE_TOO_LONG,
    415: ISSUE_NOT_SUPPORTED,
}


def outcome_response(status: int, body: dict[str, Any]) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


def on_client_error(error: ClientError) -> Response:
    response = outcome_response(
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
    response = outcome_response(
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
    return outcome_response(
        500,
        operation_outcome("internal error; the event has been logged", code=ISSUE_EXCEPTION),
    )


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(ClientError, on_client_error)
    app.register_error_handler(HTTPException, on_http_error)
    app.register_error_handler(Exception, on_unexpected)
