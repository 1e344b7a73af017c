"""What a hook call made of each prefetch key: sent filled, empty, null, missing or unusable;
fetched or failed (with the HTTP status when there was one); and how many resources were read,
kept for the rules and skipped (rejected by the R4 models).

Filled in by :func:`~cds_service.record.prefetch.assemble_record` as it works, so that it holds
what was seen even when the call ends in a 412. ``cds-service evaluate --explain`` prints it;
the hook call's log line names the keys that came missing or failed, in the same words (keys,
states and statuses only: never a value).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Sent(StrEnum):
    """What the request's prefetch held for a key."""

    FILLED = "filled"
    EMPTY = "empty"
    """A resource or searchset with no resource (Epic's "no results" warning included)."""
    NULL = "null"
    """``null``: the EHR says there is no data (nothing fetched, per CDS Hooks 2.0)."""
    MISSING = "missing"
    UNUSABLE = "unusable"
    """Not a usable answer (an OperationOutcome, an array...): fetched in its place."""


class Fetch(StrEnum):
    FETCHED = "fetched"
    PAGED = "more pages fetched"
    FAILED = "failed"


@dataclass
class KeyTrace:
    """One prefetch key of one call."""

    key: str
    sent: Sent
    fault: str | None = None
    """Why the value sent was unusable."""
    fetch: Fetch | None = None
    reason: str | None = None
    """Why the fetch failed, in the service's words (no value of the record)."""
    status: int | None = None
    """The FHIR server's HTTP status when the fetch failed on one (403: usually a scope the
    EHR did not grant)."""
    read: int = 0
    kept: int = 0
    skipped: int = 0

    @property
    def words(self) -> str:
        """``filled``, ``missing, fetched``, ``missing, failed (HTTP 403)``..."""
        parts = [str(self.sent)]
        if self.fetch is Fetch.FAILED:
            parts.append(f"failed (HTTP {self.status})" if self.status else "failed")
        elif self.fetch is not None:
            parts.append(str(self.fetch))
        return ", ".join(parts)

    @property
    def notable(self) -> bool:
        """Came missing or unusable, or failed: what the log line names."""
        return self.sent in (Sent.MISSING, Sent.UNUSABLE) or self.fetch is Fetch.FAILED


@dataclass
class PrefetchTrace:
    """Every prefetch key of one call, in the order of the service's templates."""

    keys: dict[str, KeyTrace] = field(default_factory=dict)

    def sent(self, key: str, state: Sent, fault: str | None = None) -> None:
        self.keys[key] = KeyTrace(key, state, fault)

    def fetched(self, key: str, *, paged: bool = False) -> None:
        if key in self.keys:
            self.keys[key].fetch = Fetch.PAGED if paged else Fetch.FETCHED

    def failed(self, key: str, reason: str, status: int | None = None) -> None:
        if key in self.keys:
            trace = self.keys[key]
            trace.fetch, trace.reason, trace.status = Fetch.FAILED, reason, status

    def counted(self, key: str, read: int, kept: int, skipped: int) -> None:
        if key in self.keys:
            trace = self.keys[key]
            trace.read, trace.kept, trace.skipped = read, kept, skipped
            if trace.sent is Sent.FILLED and not read and trace.fetch is None:
                trace.sent = Sent.EMPTY

    def log_field(self) -> dict[str, str]:
        """The keys that came missing or failed, in the words ``--explain`` prints."""
        return {key: trace.words for key, trace in self.keys.items() if trace.notable}
