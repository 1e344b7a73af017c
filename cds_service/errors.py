"""The service's one exception tree, and the OperationOutcome bodies its client errors carry.

::

    ServiceError                   every error the service raises on purpose
    ├── StartupError               a setting or resource unusable at start-up: the command
    │   │                          prints one line (``cds-service: ...``), exit status 2
    │   ├── ConfigurationError     a CDS_* setting cannot be used (it names the variable)
    │   └── KnowledgeError         the knowledge file cannot be used (defined with its loader,
    │                              in :mod:`cds_service.clinical.knowledge_loader`)
    ├── ClientError                what the caller is told: an HTTP status and a FHIR issue
    │   │                          code, answered as an OperationOutcome (never a traceback)
    │   ├── BadRequest             400  malformed JSON or body, a request breaking CDS Hooks
    │   ├── AuthenticationFailed   401  no valid JWT; ``reason`` goes to the log only
    │   ├── UnknownService         404
    │   ├── MissingData            412  data the rules need can be neither sent nor fetched
    │   ├── UnsupportedMediaType   415
    │   ├── Refused                400/408/413/431 from the server's front, before Flask
    │   └── StoreUnavailable       503  the store is locked, full or unreachable
    ├── UpstreamError              a server the service calls failed; ``reason`` says how
    │   ├── FhirFetchError         the EHR's FHIR server (the call then gets 412 for the key)
    │   └── TerminologyError       the terminology server (the expansions in use are kept)
    └── CacheError                 the expansions' cache file is not one this service wrote
                                   (in :mod:`cds_service.ops.expansion_cache`; it is then
                                   ignored, with a warning)
"""

from __future__ import annotations

from typing import Any

# FHIR issue-type codes (http://hl7.org/fhir/issue-type) used by the service.
ISSUE_INVALID = "invalid"
ISSUE_STRUCTURE = "structure"
ISSUE_NOT_FOUND = "not-found"
ISSUE_NOT_SUPPORTED = "not-supported"
ISSUE_TOO_LONG = "too-long"
ISSUE_INCOMPLETE = "incomplete"
ISSUE_EXCEPTION = "exception"


class ServiceError(Exception):
    """The root: every error the service raises on purpose."""


# --------------------------------------------------------------------------- start-up


class StartupError(ServiceError):
    """A setting or resource the command needs is unusable; the message is one line."""


class ConfigurationError(StartupError):
    """A ``CDS_*`` setting cannot be used; the message names the variable and what it expects."""


# --------------------------------------------------------------------------- the client


class ClientError(ServiceError):
    """An error the client is told about, with its HTTP status and FHIR issue code."""

    status: int = 400
    code: str = ISSUE_INVALID

    def __init__(self, message: str, *, expression: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.expression = expression or []


class BadRequest(ClientError):
    """The request breaks the CDS Hooks 2.0 specification or is not valid JSON."""


class AuthenticationFailed(ClientError):
    """The request is not from a trusted CDS client; ``reason`` is for the log only."""

    status = 401
    code = "login"

    def __init__(self, reason: str) -> None:
        super().__init__("authentication required")
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class UnknownService(ClientError):
    status = 404
    code = ISSUE_NOT_FOUND


class MissingData(ClientError):
    """Data the rules need is neither in the prefetch nor obtainable from the FHIR server."""

    status = 412
    code = ISSUE_INCOMPLETE


class UnsupportedMediaType(ClientError):
    """The body is not JSON."""

    status = 415
    code = ISSUE_NOT_SUPPORTED


class Refused(ClientError):
    """The server's front answers the request itself: ``status`` and a message naming the
    fault (a slow, oversized or malformed request that never reaches a worker thread)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class StoreUnavailable(ClientError):
    """The store (database) cannot be used: locked, full, unreachable. A 503, never a 401."""

    status = 503
    code = "transient"


# --------------------------------------------------------------------------- upstream


class UpstreamError(ServiceError):
    """A server the service calls could not answer; ``reason`` names why (never a token)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FhirFetchError(UpstreamError):
    """The FHIR server could not provide the data (network, status, body, deadline, paging);
    ``status``, the HTTP status when the server answered with an error one."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.status = status


class TerminologyError(UpstreamError):
    """The terminology server could not expand a root (network, status, body, limits)."""


def operation_outcome(
    message: str,
    *,
    code: str = ISSUE_INVALID,
    severity: str = "error",
    expression: list[str] | None = None,
) -> dict[str, Any]:
    """A minimal FHIR R4 OperationOutcome with one issue."""
    issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": message}
    if expression:
        issue["expression"] = expression
    return {"resourceType": "OperationOutcome", "issue": [issue]}
