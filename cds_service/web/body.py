"""The request body: its media type, its size (413 past ``CDS_MAX_BODY_BYTES``, read and
discarded first so that the client reads the answer), its JSON, and the work one call may ask
for (draft orders, prefetch resources)."""

from __future__ import annotations

import json
from typing import Any

import orjson
from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from cds_service.errors import BadRequest, UnsupportedMediaType
from cds_service.settings import Settings

JSON_TYPES = ("application/json", "application/fhir+json")
DISCARD_FACTOR = 4
"""A body over the limit is read and thrown away up to this many times the limit before the
413, so that an ordinary client (which sends its whole body first) reads the 413."""


def check_caps(body: dict[str, Any], settings: Settings) -> None:
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


def json_body(limit: int) -> dict[str, Any]:
    """The request body as a JSON object, or the right 4xx."""
    mimetype = (request.mimetype or "").lower()
    if mimetype not in JSON_TYPES and not mimetype.endswith("+json"):
        raise UnsupportedMediaType(
            f"Content-Type must be application/json, not '{request.content_type or 'none'}'"
        )
    raw = read_body(limit)
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
