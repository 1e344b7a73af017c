"""The service's exception tree and the OperationOutcome bodies its errors carry.

Everything a client can get wrong becomes a :class:`CdsError` with an HTTP status; the API
layer turns it into ``application/json`` with a FHIR OperationOutcome body. No stack trace,
no HTML, no request content beyond what names the fault.
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


class CdsError(Exception):
    """An error the client is told about, with its HTTP status and FHIR issue code."""

    status: int = 400
    code: str = ISSUE_INVALID

    def __init__(self, message: str, *, expression: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.expression = expression or []


class BadRequest(CdsError):
    """The request breaks the CDS Hooks 2.0 specification or is not valid JSON."""


class UnknownService(CdsError):
    status = 404
    code = ISSUE_NOT_FOUND


class MissingData(CdsError):
    """Data the rules need is neither in the prefetch nor obtainable from the FHIR server."""

    status = 412
    code = ISSUE_INCOMPLETE


class StoreUnavailable(CdsError):
    """The store (database) cannot be used: locked, full, unreachable. A 503, never a 401."""

    status = 503
    code = "transient"


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
