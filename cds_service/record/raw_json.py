"""The hook request's JSON, decoded only as far as a rule can read it.

A prefetch Bundle is most of a request's bytes, and most of its resources are what no rule
reads. Decoding all of it into Python objects (and freeing them after the call) cost more than
everything the rules do, so a hook request is decoded in layers with msgspec:

- the request's members are decoded as usual, but for ``prefetch``: each of its values is kept
  as raw JSON text (:class:`msgspec.Raw`, a view of the body's bytes), a :class:`RawJson`,
  until the record layer scans it. A Bundle is split into its entries' raw resources
  (:meth:`RawJson.frame`); of each resource only the members the relevance test reads are
  decoded (:func:`resource_heads`), and the resources it keeps are decoded whole
  (:meth:`Entries.whole`), exactly as a whole-body decode gives them.

One reading differs from orjson's, on purpose: an integer outside 64 bits (up to 309 digits)
is read exactly, as the standard library reads it, where orjson reads it as the nearest float
(a review found no clinical answer it changes: no code has 19 digits, and the rules discard
such values; ``fhirAuthorization.expires_in`` of 2**64 is accepted, where orjson's float was a
400).

Whatever this cannot read in its proper shape takes the old path, never a guess: a request
msgspec refuses (NaN, a lone surrogate escape, a BOM, depth, invalid JSON) is decoded whole by
:func:`loads_json` (orjson, then the standard library's judgement and its 400s); a body that is
not plain ASCII is checked as UTF-8 first (msgspec does not check the text it skips); a
prefetch value that is not a Bundle of entry objects is decoded whole and read as before.
"""

from __future__ import annotations

import json
from typing import Any, TypedDict

import msgspec
import orjson

from cds_service.errors import BadRequest

_GENERIC = msgspec.json.Decoder()
_NOT_SENT = msgspec.Raw(b"")
_OPEN_BRACE = ord("{")


class _Entry(msgspec.Struct):
    resource: msgspec.Raw = _NOT_SENT


class Frame(msgspec.Struct):
    """A Bundle as the relevance test walks it: its type, links and entries' raw resources."""

    resourceType: Any = None
    link: Any = None
    entry: list[_Entry] = msgspec.field(default_factory=list)


class _Head(TypedDict, total=False):
    """The members of a resource the relevance test reads (relevance.py: ``condition``;
    observation_filter.py: ``ObservationFilter.keeps``, ``observation_time``); every other
    member is skipped unread.
    A test checks that the test reads no other member."""

    resourceType: Any
    code: msgspec.Raw  # raw: the test memoises its answers by the code's text
    note: Any
    valueCodeableConcept: Any
    component: Any
    valueString: Any
    valueQuantity: Any  # its unit: a temperature's is a body temperature
    effectiveDateTime: Any
    effectivePeriod: Any
    effectiveInstant: Any
    issued: Any


HEAD_MEMBERS = frozenset(_Head.__annotations__)
_FRAME = msgspec.json.Decoder(Frame)
_HEAD = msgspec.json.Decoder(_Head)


def loads_json(raw: bytes) -> Any:
    """Any JSON text, decoded whole: orjson, else the standard library's judgement (NaN and
    Infinity refused by name, depth, bad encodings; a lone surrogate escape, an integer of
    hundreds of digits or a UTF-8 BOM read as it reads them). Invalid JSON is a 400."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"request body is not valid JSON: {_json_error(exc)}") from None


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _json_error(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc).split("\n", 1)[0][:200]


def decode_value(raw: bytes | msgspec.Raw) -> Any:
    """One JSON value decoded whole, the same as it would be inside a whole-body decode."""
    try:
        return _GENERIC.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        return loads_json(bytes(raw))


class RawJson:
    """A prefetch value not decoded yet: its raw JSON, decoded whole (:meth:`value`) or as a
    Bundle's frame (:meth:`frame`) on first use. Pydantic sees it as any value and counts its
    entries (``protocol.DeferredJson``); the record layer's scan reads it."""

    __slots__ = ("_frame", "_framed", "_value", "raw")

    def __init__(self, raw: msgspec.Raw) -> None:
        self.raw = raw
        self._framed = False
        self._frame: Frame | None = None
        self._value: Any = _NOT_SENT

    def value(self) -> Any:
        """The whole value, decoded once."""
        if self._value is _NOT_SENT:
            self._value = decode_value(self.raw)
        return self._value

    def frame(self) -> Frame | None:
        """The value as a Bundle of entry objects; None for anything else (a resource, an
        entry that is not an object, JSON msgspec does not decode): read it whole."""
        if not self._framed:
            self._framed = True
            try:
                frame = _FRAME.decode(self.raw)
            except (msgspec.DecodeError, RecursionError):  # ValidationError is a DecodeError
                frame = None
            self._frame = frame if frame is not None and frame.resourceType == "Bundle" else None
        return self._frame

    def entry_count(self) -> int | None:
        """The Bundle's entries, counted on its frame (for the request's limits); None when
        it is no Bundle of entry objects (:meth:`value` is read instead)."""
        frame = self.frame()
        return None if frame is None else len(frame.entry)

    def links(self) -> Any:
        """What the paging test reads: the Bundle's ``link``, or the whole value."""
        frame = self.frame()
        return {"link": frame.link} if frame is not None else self.value()


def resource_heads(raws: list[msgspec.Raw]) -> list[dict[str, Any] | None]:
    """Of each resource, the members the relevance test reads; None for an entry's resource
    that is missing or not a JSON object. Whatever msgspec refuses (not an object, a number
    out of its range in a member read) is decoded whole by the old path, which judges it."""
    heads: list[Any] = []  # TypedDict heads: plain dicts
    add, decode = heads.append, _HEAD.decode  # the hot loop: a thousand resources a call
    for raw in raws:
        try:
            add(decode(raw) if raw else None)  # a TypedDict decodes to a dict
        except (msgspec.DecodeError, RecursionError):  # ValidationError is a DecodeError
            value = loads_json(bytes(raw))
            add(value if isinstance(value, dict) else None)
    return heads


class _Request(msgspec.Struct):
    """A hook request's members (CDS Hooks 2.0); others are ignored, as the request model
    ignores them. Each member is decoded as usual but ``prefetch``, whose values stay raw."""

    hook: Any = msgspec.UNSET
    hookInstance: Any = msgspec.UNSET
    fhirServer: Any = msgspec.UNSET
    fhirAuthorization: Any = msgspec.UNSET
    context: Any = msgspec.UNSET
    extension: Any = msgspec.UNSET
    prefetch: dict[str, msgspec.Raw] | msgspec.UnsetType | None = msgspec.UNSET


_REQUEST = msgspec.json.Decoder(_Request)


def decode_request(body: bytes) -> Any:
    """A hook request's body: a dict whose ``prefetch`` values are :class:`RawJson` (objects)
    when the layered decode can read it, else whatever :func:`loads_json` makes of it."""
    try:
        if not body.isascii():
            body.decode("utf-8")  # msgspec skips text unchecked; a whole decode judges it
        request = _REQUEST.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return loads_json(body)  # not an object, a prefetch not an object, or refused
    members = {
        name: value
        for name in request.__struct_fields__
        if (value := getattr(request, name)) is not msgspec.UNSET
    }
    if isinstance(request.prefetch, dict):
        members["prefetch"] = {
            key: RawJson(value) if memoryview(value)[0] == _OPEN_BRACE else decode_value(value)
            for key, value in request.prefetch.items()
        }
    return members


class Entries:
    """A Bundle's entries as the scan walks them: each entry's resource as far as the test
    reads it (None when the entry holds no resource object), and the whole resource of the
    ones it keeps."""

    __slots__ = ("_raws", "heads")

    def __init__(self, heads: list[Any], raws: list[msgspec.Raw] | None) -> None:
        self.heads = heads
        self._raws = raws

    @classmethod
    def of_list(cls, entries: list[Any]) -> Entries:
        """Decoded entries: the heads are the resources themselves."""
        return cls([e.get("resource") if isinstance(e, dict) else None for e in entries], None)

    @classmethod
    def of_frame(cls, frame: Frame) -> Entries:
        raws = [entry.resource for entry in frame.entry]
        return cls(resource_heads(raws), raws)

    def whole(self, index: int, head: dict[str, Any]) -> dict[str, Any]:
        """The resource of entry ``index`` decoded whole (a head is the whole of a decoded
        entry's resource)."""
        if self._raws is None:
            return head
        resource: dict[str, Any] = decode_value(self._raws[index])
        return resource
