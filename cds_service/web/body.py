"""The request body: its media type, its size (413 past ``CDS_MAX_BODY_BYTES``, read and
discarded first so that the client reads the answer), its JSON, and the work one call may ask
for (draft orders, prefetch resources)."""

from __future__ import annotations

from typing import Any

from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from cds_service.errors import BadRequest, UnsupportedMediaType
from cds_service.record.raw_json import RawJson, decode_request, loads_json
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
        found = _entries(value)
        if isinstance(found, list) and len(found) > settings.max_prefetch_resources:
            raise BadRequest(
                f"prefetch.{str(key)[:64]} has more than the limit of "
                f"{settings.max_prefetch_resources} resources (CDS_MAX_PREFETCH_RESOURCES)",
                expression=[f"prefetch.{str(key)[:64]}"],
            )


def _entries(value: object) -> object:
    """A prefetch value's entries (raw or decoded), for counting."""
    if isinstance(value, RawJson):
        frame = value.frame()
        if frame is not None:
            return frame.entry
        value = value.value()
    return value.get("entry") if isinstance(value, dict) else None


def json_body(limit: int, layered: bool = False) -> dict[str, Any]:
    """The request body as a JSON object, or the right 4xx. ``layered`` (a hook request):
    its prefetch values stay raw JSON until the record layer scans them (raw_json.py)."""
    mimetype = (request.mimetype or "").lower()
    if mimetype not in JSON_TYPES and not mimetype.endswith("+json"):
        raise UnsupportedMediaType(
            f"Content-Type must be application/json, not '{request.content_type or 'none'}'"
        )
    raw = read_body(limit)
    body = decode_request(raw) if layered else loads_json(raw)
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object", expression=["(body)"])
    return body


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
