"""SNOMED CT by hierarchy: each exclusion group's roots expanded by a FHIR terminology server.

``CDS_TERMINOLOGY_URL`` names the server. Each root is expanded with ``ValueSet/$expand`` of
the ECL implicit value set ``http://snomed.info/sct?fhir_vs=ecl/<< ROOT``, page by page, at
start-up and every ``CDS_TERMINOLOGY_REFRESH_HOURS``, into a JSON cache file that survives
restarts (``cds-service terminology refresh`` writes one a deployment can ship). A failure
keeps the previous expansions and logs one warning line. Without a server, a cache file's
expansions apply; without either, only the listed codes and the display-term rules do.

Threads do not survive gunicorn's fork: the refresh thread starts per process, from the
``post_fork`` hook or lazily on the first call in a process (the pid is checked).
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urljoin, urlsplit

import requests

from cds_service.clinical.knowledge import Knowledge
from cds_service.errors import TerminologyError
from cds_service.record.fhir_client import FHIR_JSON, cookieless_session

log = logging.getLogger(__name__)

SNOMED = "http://snomed.info/sct"
SCTID = re.compile(r"[1-9][0-9]{5,17}")
PAGE_SIZE = 1000
MAX_CODES_PER_ROOT = 200_000
MAX_BYTES = 32 * 1024 * 1024
MAX_REDIRECTS = 3
MAX_SECONDS_PER_ROOT = 300.0
RETRY_SECONDS = 15 * 60.0
"""After a failed scheduled refresh, the next try (or the refresh interval, if shorter)."""


class CacheError(Exception):
    """The cache file is not one this service wrote (corrupt, foreign, unreadable)."""


def safe_url(url: str) -> str:
    """``url`` without user info, query or fragment: fit for logs and the cache file."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def ecl_descendants_or_self(root: str) -> str:
    """The implicit value set of ``root`` and all its descendants."""
    if not SCTID.fullmatch(root):
        raise TerminologyError(f"{root!r} is not a SNOMED CT concept id")
    return f"{SNOMED}?fhir_vs=ecl/<< {root}"


@dataclass(frozen=True)
class TerminologyClient:
    """Expands SNOMED CT roots on one FHIR terminology server."""

    base_url: str
    timeout: float = 10.0
    session: requests.Session = field(default_factory=cookieless_session)
    page_size: int = PAGE_SIZE
    max_codes: int = MAX_CODES_PER_ROOT
    max_bytes: int = MAX_BYTES
    max_seconds: float = MAX_SECONDS_PER_ROOT

    def expand_all(self, roots: Iterable[str]) -> dict[str, list[str]]:
        """Every root's descendants (and itself); the first failure raises."""
        return {root: self.expand(root) for root in roots}

    def expand(self, root: str) -> list[str]:
        """The SNOMED CT codes of ``<< root``, every page, sorted."""
        value_set = ecl_descendants_or_self(root)
        deadline = time.monotonic() + self.max_seconds
        codes: set[str] = set()
        offset = 0
        while True:
            if time.monotonic() > deadline:
                raise TerminologyError(f"<< {root} took longer than {self.max_seconds:g} s")
            expansion = self._page(value_set, offset)
            entries = list(_contains(expansion.get("contains")))
            offset += len(entries)
            codes.update(c for system, c in entries if system == SNOMED and SCTID.fullmatch(c))
            if offset > self.max_codes:
                raise TerminologyError(f"<< {root} has more than {self.max_codes} codes")
            total = expansion.get("total")
            if not entries or (isinstance(total, int) and offset >= total):
                break
        if not codes:  # << root holds at least the root: the server does not know it
            raise TerminologyError(f"the expansion of << {root} holds no SNOMED CT code")
        return sorted(codes)

    def _page(self, value_set: str, offset: int) -> dict[str, Any]:
        query = urlencode(
            {"url": value_set, "count": self.page_size, "offset": offset}, quote_via=quote
        )
        body = self._get(urljoin(self.base_url.rstrip("/") + "/", "ValueSet/$expand") + "?" + query)
        if body.get("resourceType") != "ValueSet" or not isinstance(body.get("expansion"), dict):
            raise TerminologyError("the terminology server's answer is not an expanded ValueSet")
        expansion: dict[str, Any] = body["expansion"]
        return expansion

    def _get(self, url: str) -> dict[str, Any]:
        origin = urlsplit(url)[:2]
        for _ in range(MAX_REDIRECTS + 1):
            response = self._send(url)
            if not response.is_redirect:
                return self._json(response)
            target = urljoin(url, response.headers.get("Location", ""))
            response.close()
            if urlsplit(target)[:2] != origin:
                raise TerminologyError("refused a redirect to another host")
            url = target
        raise TerminologyError(f"more than {MAX_REDIRECTS} redirects")

    def _send(self, url: str) -> requests.Response:
        try:
            return self._session_get(url)
        except requests.Timeout as exc:
            raise TerminologyError("the terminology server did not answer in time") from exc
        except requests.RequestException as exc:
            raise TerminologyError(
                f"the terminology server could not be reached ({type(exc).__name__})"
            ) from exc

    def _session_get(self, url: str) -> requests.Response:
        return self.session.get(
            url,
            headers={"Accept": FHIR_JSON},
            timeout=(self.timeout, self.timeout),
            allow_redirects=False,
            stream=True,
        )

    def _json(self, response: requests.Response) -> dict[str, Any]:
        with response:
            if not 200 <= response.status_code < 300:
                raise TerminologyError(
                    f"the terminology server answered HTTP {response.status_code}"
                )
            raw = self._read_capped(response)
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise TerminologyError("the terminology server's answer is not JSON") from exc
        if not isinstance(body, dict):
            raise TerminologyError("the terminology server's answer is not a FHIR resource")
        return body

    def _read_capped(self, response: requests.Response) -> bytes:
        chunks, size = [], 0
        try:
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > self.max_bytes:
                    raise TerminologyError(f"an answer is larger than {self.max_bytes} bytes")
                chunks.append(chunk)
        except requests.RequestException as exc:
            raise TerminologyError(
                f"the terminology server's answer broke off ({type(exc).__name__})"
            ) from exc
        return b"".join(chunks)


def _contains(entries: object) -> Iterator[tuple[object, str]]:
    """(system, code) of every entry of ``expansion.contains``, nested ones included."""
    if not isinstance(entries, list):
        return
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        code = entry.get("code")
        yield entry.get("system"), code if isinstance(code, str) else ""
        yield from _contains(entry.get("contains"))


@dataclass(frozen=True)
class Expansions:
    """What the cache file holds: the server, when it answered, and each root's codes."""

    server: str | None
    fetched: datetime
    expansions: dict[str, list[str]]

    def covers(self, roots: Iterable[str]) -> bool:
        return set(roots) <= set(self.expansions)


def write_cache(path: Path, expansions: Expansions) -> None:
    """Write the file atomically (a temporary file beside it, then ``os.replace``)."""
    document = {
        "server": expansions.server,
        "fetched": expansions.fetched.isoformat(),
        "expansions": expansions.expansions,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(document, out, separators=(",", ":"))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_cache(path: Path) -> Expansions | None:
    """The cache file, or None when there is none; :class:`CacheError` when it is not ours."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise CacheError(f"cannot be read ({type(exc).__name__})") from exc
    try:
        return _parse_cache(json.loads(text))
    except (ValueError, TypeError) as exc:
        raise CacheError(f"not a SNOMED CT expansion cache ({exc})") from exc


def _parse_cache(document: object) -> Expansions:
    if not isinstance(document, dict) or set(document) != {"server", "fetched", "expansions"}:
        raise ValueError("keys must be server, fetched and expansions")
    server, fetched, expansions = document["server"], document["fetched"], document["expansions"]
    if server is not None and not isinstance(server, str):
        raise ValueError("server is not a string")
    instant = datetime.fromisoformat(fetched)
    if instant.tzinfo is None:
        raise ValueError("fetched has no time zone")
    if not isinstance(expansions, dict):
        raise ValueError("expansions is not an object")
    for root, codes in expansions.items():
        if not SCTID.fullmatch(root) or not isinstance(codes, list):
            raise ValueError("an expansion is not a concept id with a list of codes")
        if not all(isinstance(c, str) and SCTID.fullmatch(c) for c in codes):
            raise ValueError(f"the expansion of {root} holds a value that is not a concept id")
    return Expansions(server, instant, expansions)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class KnowledgeUpdater:
    """Owns the current :class:`Knowledge`; swaps in a new one after each successful refresh.

    Call it (it is the engine's knowledge provider) to get the current knowledge; the first
    call in a process starts that process's refresh thread. Reads never wait for a refresh.
    """

    def __init__(
        self,
        knowledge: Knowledge,
        client: TerminologyClient | None = None,
        cache: Path | None = None,
        refresh_hours: float = 24.0,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._base = knowledge
        self._knowledge = knowledge
        self._client = client
        self._cache = cache
        self._interval = timedelta(hours=refresh_hours)
        self._clock = clock
        self._fetched: datetime | None = None
        self._due: datetime | None = None
        self._lock = threading.Lock()
        self._threads: list[tuple[threading.Thread, threading.Event]] = []
        self._thread_pid: int | None = None

    @property
    def knowledge(self) -> Knowledge:
        return self._knowledge

    @property
    def fetched(self) -> datetime | None:
        """When the expansions in use were fetched; None while there are none."""
        return self._fetched

    def __call__(self) -> Knowledge:
        if self._client is not None and self._thread_pid != os.getpid():
            self.start()
        return self._knowledge

    def start_up(self) -> None:
        """At start-up: adopt the cache file, then refresh unless the cache is fresh."""
        self.load_cache()
        if self._client is not None and self._base.snomed_roots and not self._fresh():
            self.refresh()

    def load_cache(self) -> bool:
        """Adopt the cache file's expansions when it covers every root (and is newer)."""
        cached = self._read_cache()
        roots = self._base.snomed_roots
        if cached is None or not roots:
            return False
        if not cached.covers(roots):
            log.warning("the SNOMED CT expansion cache lacks some roots; not used")
            return False
        if self._fetched is not None and cached.fetched <= self._fetched:
            return False
        self._swap({root: cached.expansions[root] for root in roots}, cached.fetched)
        return True

    def refresh_now(self) -> dict[str, list[str]]:
        """Expand every root now, swap the knowledge, write the cache; raise on failure."""
        if self._client is None:
            raise TerminologyError("no terminology server is configured (CDS_TERMINOLOGY_URL)")
        expansions = self._client.expand_all(self._base.snomed_roots)
        fetched = self._clock()
        self._swap(expansions, fetched)
        self._write_cache(Expansions(safe_url(self._client.base_url), fetched, expansions))
        log.info(
            "SNOMED CT expansions refreshed",
            extra={"codes": {root: len(codes) for root, codes in expansions.items()}},
        )
        return expansions

    def refresh(self) -> bool:
        """:meth:`refresh_now`, logging a failure as one warning line (the old expansions stay)."""
        try:
            self.refresh_now()
        except TerminologyError as exc:
            log.warning("SNOMED CT refresh failed, keeping the previous expansions: %s", exc.reason)
            self._retry_later()
            return False
        return True

    def start(self) -> None:
        """Start this process's daemon refresh thread (once per pid)."""
        pid = os.getpid()
        if self._client is None or not self._base.snomed_roots or self._thread_pid == pid:
            return
        with self._lock:
            if self._thread_pid != pid:
                self._threads.append(_daemon(self._run))
                self._thread_pid = pid

    @property
    def thread(self) -> threading.Thread | None:
        """The refresh thread started last (in this process, unless it forked since)."""
        return self._threads[-1][0] if self._threads else None

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the refresh threads and wait for a refresh under way (tests)."""
        for _, stop in self._threads:
            stop.set()
        for thread, _ in self._threads:
            if thread.is_alive():
                thread.join(timeout)

    def _run(self, stop: threading.Event) -> None:
        while not stop.wait(self._delay()):
            self._scheduled_refresh()

    def _delay(self) -> float:
        """Seconds until the next refresh is due (now, if none was ever tried)."""
        if self._due is None:
            return 0.0
        return max((self._due - self._clock()).total_seconds(), 0.0)

    def _scheduled_refresh(self) -> None:
        try:
            # another worker may have refreshed the shared cache file already
            if self.load_cache() and self._fresh():
                return
            self.refresh()
        except Exception as exc:  # the thread must outlive any bug
            log.warning("SNOMED CT refresh failed unexpectedly: %s", type(exc).__name__)
            self._retry_later()

    def _retry_later(self) -> None:
        self._due = self._clock() + min(self._interval, timedelta(seconds=RETRY_SECONDS))

    def _fresh(self) -> bool:
        return self._fetched is not None and self._clock() - self._fetched < self._interval

    def _swap(self, expansions: Mapping[str, list[str]], fetched: datetime) -> None:
        self._knowledge = self._base.with_expansions(expansions)
        self._fetched = fetched
        self._due = fetched + self._interval

    def _read_cache(self) -> Expansions | None:
        return None if self._cache is None else _read_cache_or_warn(self._cache)

    def _write_cache(self, expansions: Expansions) -> None:
        if self._cache is not None:
            _write_cache_or_warn(self._cache, expansions)


def _daemon(run: Callable[[threading.Event], None]) -> tuple[threading.Thread, threading.Event]:
    """A started refresh thread and the event that stops it (a fresh event: nothing of a
    parent process's threads is shared)."""
    stop = threading.Event()
    thread = threading.Thread(target=run, name="snomed-refresh", daemon=True, args=(stop,))
    thread.start()
    return thread, stop


def _read_cache_or_warn(path: Path) -> Expansions | None:
    try:
        return read_cache(path)
    except CacheError as exc:
        log.warning("ignoring the SNOMED CT expansion cache %s: %s", path, exc)
        return None


def _write_cache_or_warn(path: Path, expansions: Expansions) -> None:
    try:
        write_cache(path, expansions)
    except OSError as exc:
        log.warning("cannot write the SNOMED CT expansion cache %s (%s)", path, type(exc).__name__)
