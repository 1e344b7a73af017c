"""The FHIR client: reads what the prefetch lacked from the EHR's ``fhirServer``.

One ``requests.Session`` per app; the bearer token from ``fhirAuthorization``; ``Accept:
application/fhir+json``; connect and read timeouts and an overall deadline per hook call;
searchset paging through ``link[next]`` up to a cap, never to another host; the queries for
different keys run concurrently. Every failure of the server or the network becomes a
:class:`FhirFetchError` at this boundary. The token is never logged.
"""

from __future__ import annotations

import http.cookiejar
import logging
import time
from collections.abc import Mapping
from concurrent.futures import Executor, Future, wait
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import requests

from cds_service.fhir_read import bundle_fault

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"


class FhirFetchError(Exception):
    """The FHIR server could not provide the data (network, status, body, deadline, paging)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class FhirLimits:
    connect_timeout: float = 0.25
    read_timeout: float = 0.6
    deadline: float = 0.8
    max_pages: int = 20


def cookieless_session() -> requests.Session:
    """A Session that never keeps cookies: calls for different patients and tokens share it,
    so nothing a server sets for one call may ride along on the next."""
    session = requests.Session()
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    return session


def allowed(server: str, allowlist: str) -> bool:
    """``server`` starts with an allowlisted prefix (on a path boundary), or the list is ``*``."""
    for prefix in (p.strip() for p in allowlist.split(",")):
        if prefix == "*":
            return True
        if prefix and (server == prefix.rstrip("/") or server.startswith(prefix.rstrip("/") + "/")):
            return True
    return False


class FhirClient:
    """Reads from one FHIR server with one token, within one hook call's deadline."""

    def __init__(
        self,
        session: requests.Session,
        base_url: str,
        token: str | None,
        limits: FhirLimits,
        started: float | None = None,
    ) -> None:
        self._session = session
        self._base = base_url.rstrip("/") + "/"
        self._headers = {"Accept": FHIR_JSON}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._limits = limits
        self._deadline = (started if started is not None else time.monotonic()) + limits.deadline

    def __repr__(self) -> str:
        return f"FhirClient(base_url={self._base!r})"

    def remaining(self) -> float:
        return self._deadline - time.monotonic()

    def read(self, query: str) -> dict[str, Any]:
        """One query (relative to the base, or an absolute URL on the same host), all pages."""
        url = urljoin(self._base, query)
        if not url.startswith(self._base):
            raise FhirFetchError("refused a URL outside the FHIR server's base")
        body = self._get(url)
        if body.get("resourceType") != "Bundle":
            return body
        entries = _entries(body)
        pages = 1
        while (next_url := next_link(body)) is not None:
            if not next_url.startswith(self._base):
                log.warning("not following a next link outside the FHIR server's base")
                raise FhirFetchError("the next page is on another host or path; not followed")
            if pages >= self._limits.max_pages:
                raise FhirFetchError(f"the search has more than {self._limits.max_pages} pages")
            body = self._get(next_url)
            if body.get("resourceType") != "Bundle":
                raise FhirFetchError("a next page is not a Bundle")
            entries.extend(_entries(body))
            pages += 1
        return {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(entries),
            "entry": entries,
        }

    def _get(self, url: str) -> dict[str, Any]:
        remaining = self.remaining()
        if remaining <= 0:
            raise FhirFetchError("the deadline for FHIR fetches passed")
        timeout = (
            min(self._limits.connect_timeout, remaining),
            min(self._limits.read_timeout, remaining),
        )
        try:
            response = self._session.get(
                url, headers=self._headers, timeout=timeout, allow_redirects=False
            )
        except requests.Timeout as exc:
            raise FhirFetchError("the FHIR server did not answer in time") from exc
        except requests.RequestException as exc:
            raise FhirFetchError(
                f"the FHIR server could not be reached ({type(exc).__name__})"
            ) from exc
        if response.status_code in (401, 403):
            raise FhirFetchError(
                f"the FHIR server refused the access token (HTTP {response.status_code})"
            )
        if not 200 <= response.status_code < 300:
            raise FhirFetchError(f"the FHIR server answered HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError as exc:
            raise FhirFetchError("the FHIR server's answer is not JSON") from exc
        if not isinstance(body, dict) or not isinstance(body.get("resourceType"), str):
            raise FhirFetchError("the FHIR server's answer is not a FHIR resource")
        if body["resourceType"] == "OperationOutcome":
            raise FhirFetchError("the FHIR server answered with an OperationOutcome")
        return body


def _entries(bundle: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A page's entries; a page that is not a readable searchset is an error, never "none"."""
    fault = bundle_fault(bundle)
    if fault:
        raise FhirFetchError(f"the FHIR server's answer is {fault}")
    entries = bundle.get("entry")
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def next_link(bundle: Mapping[str, Any]) -> str | None:
    links = bundle.get("link")
    for link in links if isinstance(links, list) else ():
        if isinstance(link, dict) and link.get("relation") == "next":
            url = link.get("url")
            return url if isinstance(url, str) and url else None
    return None


def read_all(
    client: FhirClient, queries: Mapping[str, str], executor: Executor
) -> dict[str, dict[str, Any] | FhirFetchError]:
    """Run the queries concurrently; each key gets its JSON or the error that stopped it."""
    futures: dict[str, Future[dict[str, Any]]] = {
        key: executor.submit(client.read, query) for key, query in queries.items()
    }
    wait(futures.values(), timeout=max(client.remaining(), 0))
    results: dict[str, dict[str, Any] | FhirFetchError] = {}
    for key, future in futures.items():
        if not future.done():
            future.cancel()
            results[key] = FhirFetchError("the deadline for FHIR fetches passed")
            continue
        error = future.exception()
        if error is None:
            results[key] = future.result()
        elif isinstance(error, FhirFetchError):
            results[key] = error
        else:  # a bug of ours, not the server's: still one exception type at this boundary
            log.error("unexpected error while fetching %s: %s", key, type(error).__name__)
            results[key] = FhirFetchError("internal error while fetching")
    return results
