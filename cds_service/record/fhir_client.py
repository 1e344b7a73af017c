"""The FHIR client: reads what the prefetch lacked from the EHR's ``fhirServer``.

One ``requests.Session`` per app; the bearer token from ``fhirAuthorization``; ``Accept:
application/fhir+json``; connect and read timeouts and an overall deadline per hook call;
searchset paging through ``link[next]`` up to a cap, never to another host; the queries for
different keys run concurrently. Every failure of the server or the network becomes a
:class:`FhirFetchError` at this boundary. The token is never logged.

Answers are streamed: each read waits at most the read timeout, the whole call at most its
deadline (then the sockets still open are shut down from the calling thread, so no fetch
thread is held past it), and the bytes of all answers of one call at most ``max_bytes``.
Every URL (``fhirServer``, each query, each ``next`` link) is normalised first (RFC 3986 dot
segments, percent-encoded dots and unreserved characters, the case of scheme and host, the
default port) and only then compared with the allowlist and the server's base path.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import logging
import re
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor, Future, wait
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests

from cds_service.errors import FhirFetchError
from cds_service.record.watched_http import Watch, WatchedAdapter, watching

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"


@dataclass(frozen=True)
class FhirLimits:
    connect_timeout: float = 0.25
    read_timeout: float = 0.6
    deadline: float = 0.8
    max_pages: int = 20
    max_bytes: int = 64 * 1024 * 1024
    max_resources: int = 20_000


def cookieless_session() -> requests.Session:
    """A Session that never keeps cookies: calls for different patients and tokens share it,
    so nothing a server sets for one call may ride along on the next."""
    session = requests.Session()
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    for scheme in ("http://", "https://"):  # the deadline can cut a wait for headers
        session.mount(scheme, WatchedAdapter())
    return session


_UNRESERVED = re.compile(r"%(2[dDeE]|5[fF]|7[eE]|[46][1-9a-fA-F]|[57][0-9aA]|3[0-9])")
DEFAULT_PORTS = {"http": 80, "https": 443}


def remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4: ``/fhir/a/../../admin`` is ``/admin``."""
    output: list[str] = []
    segments = path.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == ".":
            if last:
                output.append("")
            continue
        if segment == "..":
            if len(output) > 1:
                output.pop()
            if last:
                output.append("")
            continue
        output.append(segment)
    result = "/".join(output)
    return result if result.startswith("/") or not path.startswith("/") else "/" + result


def normalise_url(url: str) -> str | None:
    """The URL as an HTTP library will send it (RFC 3986 normalisation), or None when it is
    not a plain ``http(s)://host/path`` URL (user info, a backslash, control characters, an
    encoded slash or dot segment we could not place)."""
    if not isinstance(url, str) or any(c in url for c in "\\\x00\r\n\t ") or len(url) > 4096:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in DEFAULT_PORTS or not host or "@" in parts.netloc:
        return None
    # decode what RFC 3986 says is the same character anyway (%2E is "."), then the dots
    path = _UNRESERVED.sub(lambda m: chr(int(m.group(1), 16)), parts.path or "/")
    if re.search(r"%(2[fF]|5[cC])", path):
        return None  # an encoded "/" or "\\": servers disagree on what it means
    path = remove_dot_segments(path)
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if ":" in host:
        netloc = f"[{host}]" if port in (None, DEFAULT_PORTS[scheme]) else f"[{host}]:{port}"
    return urlunsplit((scheme, netloc, path, parts.query, ""))


def within(url: str, base: str) -> bool:
    """``url`` (normalised) is ``base`` (normalised, ending in "/") or under it."""
    return url == base.rstrip("/") or url.startswith(base)


def allowed(server: str, allowlist: Sequence[str]) -> bool:
    """``server`` starts with an allowlisted prefix (on a path boundary, both normalised), or
    the list is ``*``."""
    normalised = normalise_url(server)
    if normalised is None:
        return False
    for prefix in allowlist:
        if prefix == "*":
            return True
        base = normalise_url(prefix) if prefix else None
        if base and within(normalised, base.rstrip("/") + "/"):
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
        self._base = (normalise_url(base_url) or "invalid:").rstrip("/") + "/"
        self._headers = {"Accept": FHIR_JSON}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._limits = limits
        self._deadline = (started if started is not None else time.monotonic()) + limits.deadline
        self._lock = threading.Lock()
        self._received = 0
        self._open: set[requests.Response] = set()
        self._waiting = Watch()  # sockets waiting for a response's header section
        self._aborted = False

    def __repr__(self) -> str:
        return f"FhirClient(base_url={self._base!r})"

    def remaining(self) -> float:
        return self._deadline - time.monotonic()

    def abort(self) -> None:
        """The call's deadline passed: shut the sockets still being read (from any thread),
        so that the threads reading them are freed now, and start no other read."""
        with self._lock:
            self._aborted = True
            responses = list(self._open)
        self._waiting.cut()
        for response in responses:
            with contextlib.suppress(Exception):
                response.raw.shutdown()

    def _inside(self, url: str) -> str:
        """The URL normalised, if it is under the server's base; else FhirFetchError."""
        normalised = normalise_url(url)
        if normalised is None or not within(normalised, self._base):
            log.warning("not following a URL outside the FHIR server's base")
            raise FhirFetchError("refused a URL outside the FHIR server's base path")
        return normalised

    def read(self, query: str) -> dict[str, Any]:
        """One query (relative to the base, or an absolute URL on the same host), all pages."""
        body = self._get(self._inside(urljoin(self._base, query)))
        entries = body.get("entry", [])
        if body.get("resourceType") != "Bundle" or not isinstance(entries, list):
            return body  # the selection's container check judges it (selection.py)
        if not links_readable(body.get("link")):
            return body  # it may have a next page: unusable, as the container check says
        entries = list(entries)
        pages = 1
        while (next_url := next_link(body)) is not None:
            try:
                url = self._inside(next_url)
            except FhirFetchError:
                raise FhirFetchError(
                    "the next page is on another host or path; not followed"
                ) from None
            if pages >= self._limits.max_pages:
                raise FhirFetchError(f"the search has more than {self._limits.max_pages} pages")
            body = self._get(url)
            if body.get("resourceType") != "Bundle":
                raise FhirFetchError("a next page is not a Bundle")
            if not isinstance(body.get("entry", []), list) or not links_readable(body.get("link")):
                return body  # the whole answer is unusable: the container check says why
            entries.extend(body.get("entry", []))
            if len(entries) > self._limits.max_resources:
                raise FhirFetchError(
                    f"the search has more than {self._limits.max_resources} resources"
                )
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
            with watching(self._waiting):
                response = self._session.get(
                    url, headers=self._headers, timeout=timeout, allow_redirects=False, stream=True
                )
        except requests.RequestException as exc:
            if self._aborted or self.remaining() <= 0:
                raise FhirFetchError("the deadline for FHIR fetches passed") from exc
            raise _unreachable(exc) from exc
        try:
            _check_status(response.status_code)
            raw = self._body(response)
        finally:
            with self._lock:
                self._open.discard(response)
            response.close()
        return _resource(raw)

    def _body(self, response: requests.Response) -> bytes:
        """The answer's bytes, read as they come, within the deadline and the byte cap."""
        with self._lock:
            if self._aborted:
                raise FhirFetchError("the deadline for FHIR fetches passed")
            self._open.add(response)
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) + self._received > self._limits.max_bytes:
            raise FhirFetchError(f"the FHIR server's answers exceed {self._limits.max_bytes} bytes")
        chunks: list[bytes] = []
        try:
            while True:
                chunk = response.raw.read1(256 * 1024, decode_content=True)
                if self.remaining() <= 0 or self._aborted:
                    raise FhirFetchError("the deadline for FHIR fetches passed")
                if not chunk:
                    break
                with self._lock:
                    self._received += len(chunk)
                    over = self._received > self._limits.max_bytes
                if over:
                    raise FhirFetchError(
                        f"the FHIR server's answers exceed {self._limits.max_bytes} bytes"
                    )
                chunks.append(chunk)
        except FhirFetchError:
            raise
        except Exception as exc:  # a read timeout, a reset, a shut-down socket, bad gzip
            if self.remaining() <= 0 or self._aborted:
                raise FhirFetchError("the deadline for FHIR fetches passed") from exc
            raise FhirFetchError(
                f"the FHIR server's answer could not be read ({type(exc).__name__})"
            ) from exc
        return b"".join(chunks)


def _unreachable(exc: requests.RequestException) -> FhirFetchError:
    if isinstance(exc, requests.Timeout):
        return FhirFetchError("the FHIR server did not answer in time")
    return FhirFetchError(f"the FHIR server could not be reached ({type(exc).__name__})")


def _check_status(status: int) -> None:
    if status in (401, 403):
        raise FhirFetchError(f"the FHIR server refused the access token (HTTP {status})", status)
    if not 200 <= status < 300:
        raise FhirFetchError(f"the FHIR server answered HTTP {status}", status)


def _resource(raw: bytes) -> dict[str, Any]:
    """The answer as a FHIR resource other than an OperationOutcome, else FhirFetchError."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise FhirFetchError("the FHIR server's answer is not JSON") from exc
    if not isinstance(body, dict) or not isinstance(body.get("resourceType"), str):
        raise FhirFetchError("the FHIR server's answer is not a FHIR resource")
    if body["resourceType"] == "OperationOutcome":
        raise FhirFetchError("the FHIR server answered with an OperationOutcome")
    return body


def links_readable(links: object) -> bool:
    """Whether a Bundle's ``link`` can be read for a next page: absent, or a list of links
    each with a text relation, a ``next`` one with a text url. One that cannot be read may
    hold a next page: the value may be incomplete (fetched, never read as all there is)."""
    if links is None:
        return True
    if not isinstance(links, list):
        return False
    for link in links:
        if not isinstance(link, dict) or not isinstance(link.get("relation"), str):
            return False
        if link["relation"] == "next" and not isinstance(link.get("url"), str):
            return False
    return True


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
    if not all(future.done() for future in futures.values()):
        client.abort()  # a slow server keeps no fetch thread past the deadline
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
