"""The request body: its media type, its size (413 past ``CDS_MAX_BODY_BYTES``, read and
discarded first so that the client reads the answer) and its JSON. The work one call may ask
for (draft orders, prefetch resources) is counted by the request's models (protocol.py)."""

from __future__ import annotations

from typing import Any

from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from cds_service.errors import BadRequest, UnsupportedMediaType
from cds_service.record.raw_json import decode_request, loads_json

JSON_TYPES = ("application/json", "application/fhir+json")
DISCARD_FACTOR = 4
"""A body over the limit is read and thrown away up to this many times the limit before the
413, so that an ordinary client (which sends its whole body first) reads the 413."""


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
