"""Pydantic models of the CDS Hooks 2.0 wire format: hook requests, responses and feedback.

Requests are validated strictly where the specification says MUST and leniently elsewhere
(extra fields are kept: the specification allows extensions everywhere). Responses are built
from these models and serialised by :func:`to_wire`, which drops every empty optional field.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Protocol, runtime_checkable

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

SUMMARY_MAX = 139  # "<140 characters" (CDS Hooks 2.0, Card attributes)
ID_MAX = 200  # ids the store keeps (hookInstance, patientId, ...): longer is refused, not cut


def _no_nul(value: str | None) -> str | None:
    if value is not None and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Stored = Annotated[str, AfterValidator(_no_nul)]
"""A string the store keeps: PostgreSQL refuses NUL characters, so they are refused here."""


@dataclass(frozen=True)
class RequestLimits:
    """The work one hook call may ask for, given to validation as its context
    (``model_validate(data, context=limits)``): a request over a limit is a 400 naming it,
    found by counting, before any draft order or prefetch resource is read. Without a
    context, nothing is counted."""

    draft_orders: int
    """Entries of ``context.draftOrders`` (CDS_MAX_DRAFT_ORDERS)."""
    prefetch_resources: int
    """Entries of each prefetch value (CDS_MAX_PREFETCH_RESOURCES)."""


def _limits(info: ValidationInfo) -> RequestLimits | None:
    return info.context if isinstance(info.context, RequestLimits) else None


@runtime_checkable
class DeferredJson(Protocol):
    """A prefetch value whose JSON is not decoded yet (the record layer's ``RawJson``)."""

    def entry_count(self) -> int | None:
        """A Bundle's entries, counted without decoding them; None if it is read whole."""

    def value(self) -> Any:
        """The value, decoded whole."""


def _entry_count(value: object) -> int | None:
    """How many entries a Bundle (raw or decoded) holds; None for anything else."""
    if isinstance(value, DeferredJson):
        count = value.entry_count()
        if count is not None:
            return count
        value = value.value()
    entries = value.get("entry") if isinstance(value, dict) else None
    return len(entries) if isinstance(entries, list) else None


def _within_resource_limit(value: Any, info: ValidationInfo) -> Any:
    limits = _limits(info)
    count = _entry_count(value) if limits is not None else None
    if limits is not None and count is not None and count > limits.prefetch_resources:
        raise PydanticCustomError(
            "too_many_resources",
            "more than the limit of {limit} resources (CDS_MAX_PREFETCH_RESOURCES)",
            {"limit": limits.prefetch_resources},
        )
    return value


PrefetchValue = Annotated[Any, BeforeValidator(_within_resource_limit)]
"""A prefetch key's value (any JSON, possibly not decoded yet), within the resource limit."""


class _Lenient(BaseModel):
    """Incoming objects: unknown fields (extensions) are allowed and kept."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class FhirAuthorization(_Lenient):
    """``fhirAuthorization``: the OAuth 2.0 bearer token the EHR grants for ``fhirServer``."""

    access_token: str = Field(min_length=1)
    token_type: Literal["Bearer"]
    expires_in: int = Field(ge=0)
    scope: str = Field(min_length=1)
    subject: str = Field(min_length=1)
    patient: str | None = None

    def __repr__(self) -> str:  # never let the token reach a log through a repr
        return f"FhirAuthorization(token_type={self.token_type!r}, scope={self.scope!r})"

    __str__ = __repr__


class OrderSignContext(_Lenient):
    """Context of the ``order-sign`` hook."""

    userId: Stored = Field(min_length=1, max_length=ID_MAX)
    patientId: Stored = Field(min_length=1, max_length=ID_MAX)
    encounterId: Stored | None = Field(default=None, max_length=ID_MAX)
    draftOrders: dict[str, Any]

    @field_validator("draftOrders")
    @classmethod
    def _is_bundle(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        entries = value.get("entry", [])
        limits = _limits(info)
        if limits is not None and isinstance(entries, list) and len(entries) > limits.draft_orders:
            raise PydanticCustomError(
                "too_many_orders",
                "{count} entries, more than the limit of {limit} (CDS_MAX_DRAFT_ORDERS)",
                {"count": len(entries), "limit": limits.draft_orders},
            )
        if value.get("resourceType") != "Bundle":
            raise ValueError("must be a FHIR Bundle (resourceType 'Bundle')")
        if not isinstance(entries, list):
            raise ValueError("Bundle.entry must be an array")
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("resource"), dict):
                raise ValueError(f"Bundle.entry[{index}] must be an object with a resource")
        return value


class OrderSelectContext(OrderSignContext):
    """Context of the ``order-select`` hook: ``order-sign``'s plus the selected order ids."""

    selections: list[str] = Field(min_length=1)


class HookRequest(_Lenient):
    """The body of ``POST /cds-services/{id}``."""

    hook: str = Field(min_length=1, max_length=100)
    hookInstance: Stored = Field(min_length=1, max_length=ID_MAX)
    fhirServer: AnyHttpUrl | None = None
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    prefetch: dict[str, PrefetchValue] | None = None

    @model_validator(mode="after")
    def _server_with_authorization(self) -> HookRequest:
        if self.fhirAuthorization is not None and self.fhirServer is None:
            raise ValueError("fhirServer is required when fhirAuthorization is present")
        return self

    def __repr__(self) -> str:
        return f"HookRequest(hook={self.hook!r}, hookInstance={self.hookInstance!r})"

    __str__ = __repr__


# --------------------------------------------------------------------------- responses


def new_uuid() -> str:
    return str(uuid.uuid4())


class _Out(BaseModel):
    """Outgoing objects: no unknown fields; serialised through :func:`to_wire`."""

    model_config = ConfigDict(extra="forbid")


class Coding(_Out):
    system: str = Field(min_length=1)
    code: str = Field(min_length=1)
    display: str | None = None


class Source(_Out):
    label: str = Field(min_length=1)
    url: str | None = None
    icon: str | None = None
    topic: Coding | None = None


class Action(_Out):
    type: Literal["create", "update", "delete"]
    description: str = Field(min_length=1)
    resource: dict[str, Any] | None = None
    resourceId: str | None = None

    @model_validator(mode="after")
    def _payload_matches_type(self) -> Action:
        if self.type in ("create", "update") and not self.resource:
            raise ValueError(f"a {self.type} action needs a resource")
        if self.type == "delete" and not self.resourceId:
            raise ValueError("a delete action needs resourceId")
        return self


class Suggestion(_Out):
    label: str = Field(min_length=1)
    uuid: str = Field(default_factory=new_uuid)
    isRecommended: bool | None = None
    actions: list[Action] = Field(default_factory=list)


class Link(_Out):
    label: str = Field(min_length=1)
    url: str = Field(min_length=1)
    type: Literal["absolute", "smart"] = "absolute"
    appContext: str | None = None


class Card(_Out):
    uuid: str = Field(default_factory=new_uuid)
    summary: str = Field(min_length=1, max_length=SUMMARY_MAX)
    detail: str | None = None
    indicator: Literal["info", "warning", "critical"]
    source: Source
    suggestions: list[Suggestion] = Field(default_factory=list)
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    overrideReasons: list[Coding] = Field(default_factory=list)
    links: list[Link] = Field(default_factory=list)

    @model_validator(mode="after")
    def _selection_behavior_with_suggestions(self) -> Card:
        if self.suggestions and self.selectionBehavior is None:
            raise ValueError("selectionBehavior is required when a card has suggestions")
        if not self.suggestions and self.selectionBehavior is not None:
            raise ValueError("selectionBehavior without suggestions")
        return self


class CdsResponse(_Out):
    cards: list[Card] = Field(default_factory=list)
    systemActions: list[Action] = Field(default_factory=list)
    extension: dict[str, Any] | None = None


def _prune(value: Any) -> Any:
    """Drop None, empty strings, lists and objects, recursively."""
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        items = [_prune(v) for v in value]
        return [v for v in items if v not in (None, "", [], {})]
    return value


def to_wire(response: CdsResponse) -> dict[str, Any]:
    """The JSON object sent to the EHR: every empty optional field omitted; ``cards`` kept."""
    body: dict[str, Any] = _prune(response.model_dump(mode="json"))
    body["cards"] = body.get("cards", [])
    return body


# --------------------------------------------------------------------------- feedback


class AcceptedSuggestion(_Lenient):
    id: Stored = Field(min_length=1, max_length=64)


class OverrideReasonCoding(_Lenient):
    code: Stored = Field(min_length=1, max_length=100)
    system: Stored | None = Field(default=None, max_length=300)
    display: Stored | None = Field(default=None, max_length=300)


class OverrideReason(_Lenient):
    reason: OverrideReasonCoding | None = None
    userComment: str | None = None


EPIC_REASON_KEY = "com.epic.cdshooks.feedback.overrideReason"
"""The prefix of Epic's override-reason extension keys; it also stands for the code system of
the reason it carries (Epic names none): the store keeps it as the reason's system."""

ReasonCode = Annotated[Stored, Field(min_length=1, max_length=100)]
ReasonText = Annotated[Stored, Field(min_length=1, max_length=300)]


@dataclass(frozen=True)
class GivenReason:
    """An override reason as the store keeps it, whatever form the EHR sent it in."""

    system: str | None
    code: str | None
    display: str | None


class EpicReasonExtension(_Lenient):
    """``overrideReasons.extension`` when the reasons are built in Epic: flat keys."""

    category: ReasonCode | Annotated[int, Field(ge=-(10**18), le=10**18)] | None = Field(
        default=None, alias="com.epic.cdshooks.feedback.overrideReason.reasonCategory"
    )
    display: ReasonText | None = Field(
        default=None, alias="com.epic.cdshooks.feedback.overrideReason.reasonDisplay"
    )
    title: ReasonText | None = Field(
        default=None, alias="com.epic.cdshooks.feedback.overrideReason.reasonTitle"
    )


class EpicOverrideReasons(_Lenient):
    """Epic's ``overrideReasons``: a ``reason`` coding and a ``userComment``, or the
    extension's category and display."""

    reason: OverrideReasonCoding | None = None
    userComment: str | None = None
    extension: EpicReasonExtension | None = None

    def given(self) -> GivenReason | None:
        """The reason: ``reason``, else the extension's category and display (or title)."""
        if self.reason is not None:
            return GivenReason(self.reason.system, self.reason.code, self.reason.display)
        found = self.extension
        if found is None or (found.category is None and not (found.display or found.title)):
            return None
        category = None if found.category is None else str(found.category)
        return GivenReason(EPIC_REASON_KEY, category, found.display or found.title)


class FeedbackEntry(_Lenient):
    card: Stored = Field(min_length=1, max_length=64)
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[AcceptedSuggestion] | None = Field(default=None, max_length=20)
    overrideReason: OverrideReason | None = None
    overrideReasons: (
        EpicOverrideReasons | Annotated[list[EpicOverrideReasons], Field(max_length=20)] | None
    ) = None
    """Epic's form: an object, or a list of them (the first reason given is kept)."""
    outcomeTimestamp: Stored = Field(min_length=1, max_length=64)

    def reason(self) -> tuple[GivenReason | None, bool]:
        """The override reason in whichever form the EHR sent it (the specification's first),
        and whether the clinician wrote a comment (which is never kept)."""
        given = self.overrideReasons
        epic = given if isinstance(given, list) else [given] if given is not None else []
        spec = self.overrideReason
        comment = bool(spec and spec.userComment) or any(e.userComment for e in epic)
        if spec is not None and spec.reason is not None:
            coding = spec.reason
            return GivenReason(coding.system, coding.code, coding.display), comment
        reasons = (e.given() for e in epic)
        return next((r for r in reasons if r is not None), None), comment

    @field_validator("outcomeTimestamp")
    @classmethod
    def _instant(cls, value: str) -> str:
        """An ISO 8601 instant, stored in one spelling so duplicates are recognised."""
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("must be an ISO 8601 date-time") from None
        if parsed.tzinfo is None:
            raise ValueError("must carry a time zone")
        if not 1900 <= parsed.year <= 9000:  # year 1 or 9999 with an offset leaves datetime
            raise ValueError("must be a date-time between the years 1900 and 9000")
        return parsed.astimezone(UTC).isoformat()


class FeedbackRequest(_Lenient):
    feedback: list[FeedbackEntry] = Field(min_length=1, max_length=100)


# --------------------------------------------------------------------------- discovery


class ServiceDescription(_Out):
    hook: str
    title: str | None = None
    description: str
    id: str
    prefetch: dict[str, str] = Field(default_factory=dict)
    usageRequirements: str | None = None
