"""The current knowledge, with each exclusion group's SNOMED CT roots expanded: from the cache
file at start-up, then refreshed from the terminology server every
``CDS_TERMINOLOGY_REFRESH_HOURS`` (a failure keeps the previous expansions).

With the codes come the displays and synonyms of the roots whose group reads SNOMED CT
synonyms (clinical/synonym_targets.py); an answer that carries no designation for such a root
keeps that root's previous terms (one warning line).

Threads do not survive the server's fork: the refresh thread starts per process, from the
``post_fork`` hook or lazily on the first call in a process (the pid is checked).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cds_service.clinical.compiled_knowledge import Knowledge
from cds_service.clinical.synonym_targets import root_terms, synonym_roots
from cds_service.errors import TerminologyError
from cds_service.ops.expansion_cache import CacheError, Expansions, read_cache, write_cache
from cds_service.ops.terminology import Expanded, TerminologyClient, safe_url

log = logging.getLogger("cds_service.ops.terminology")

RETRY_SECONDS = 15 * 60.0
"""After a failed scheduled refresh, the next try (or the refresh interval, if shorter)."""


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
        self._held: Expansions | None = None
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
        return self._held.fetched if self._held is not None else None

    def __call__(self) -> Knowledge:
        if self._client is not None and self._thread_pid != os.getpid():
            self.start()
        return self._knowledge

    def start_up(self) -> None:
        """At start-up: adopt the cache file, then refresh unless the cache is fresh."""
        self.load_cache()
        if self._client is not None and self._base.codes.snomed_roots and not self._fresh():
            self.refresh()

    def load_cache(self) -> bool:
        """Adopt the cache file's expansions when it covers every root (and is newer)."""
        cached = self._read_cache()
        roots = self._base.codes.snomed_roots
        if cached is None or not roots:
            return False
        if not cached.covers(roots):
            log.warning("the SNOMED CT expansion cache lacks some roots; not used")
            return False
        if self.fetched is not None and cached.fetched <= self.fetched:
            return False
        self._swap(cached.only(roots))
        return True

    def refresh_now(self) -> Expansions:
        """Expand every root now, swap the knowledge, write the cache; raise on failure."""
        if self._client is None:
            raise TerminologyError("no terminology server is configured (CDS_TERMINOLOGY_URL)")
        previous = self._held.terms if self._held is not None else {}
        held = fetched_expansions(self._client, self._base, previous, self._clock)
        self._swap(held)
        self._write_cache(held)
        log.info(
            "SNOMED CT expansions refreshed",
            extra={"codes": {root: len(codes) for root, codes in held.expansions.items()}},
        )
        return held

    def refresh(self) -> bool:
        """:meth:`refresh_now`, logging a failure as one warning line (the old expansions stay)."""
        try:
            self.refresh_now()
        except Exception as exc:  # a TerminologyError, or any other fault: the same
            why = exc.reason if isinstance(exc, TerminologyError) else type(exc).__name__
            log.warning("SNOMED CT refresh failed, keeping the previous expansions: %s", why)
            self._retry_later()
            return False
        return True

    def start(self) -> None:
        """Start this process's daemon refresh thread (once per pid)."""
        pid = os.getpid()
        if self._client is None or not self._base.codes.snomed_roots or self._thread_pid == pid:
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
        fetched = self.fetched
        return fetched is not None and self._clock() - fetched < self._interval

    def _swap(self, held: Expansions) -> None:
        self._knowledge = self._base.with_expansions(held.expansions, root_terms(held.terms))
        self._held = held
        self._due = held.fetched + self._interval

    def _read_cache(self) -> Expansions | None:
        return None if self._cache is None else _read_cache_or_warn(self._cache)

    def _write_cache(self, expansions: Expansions) -> None:
        if self._cache is not None:
            _write_cache_or_warn(self._cache, expansions)


def fetched_expansions(
    client: TerminologyClient,
    base: Knowledge,
    previous: Mapping[str, dict[str, list[str]]],
    clock: Callable[[], datetime],
) -> Expansions:
    """Every root of the knowledge expanded now; the synonym roots with their terms."""
    synonyms = synonym_roots(base.file)
    expanded = client.expand_all_concepts(base.codes.snomed_roots, synonyms)
    codes = {root: found.codes for root, found in expanded.items()}
    terms = kept_terms(synonyms, expanded, previous)
    return Expansions(safe_url(client.base_url), clock(), codes, terms)


def kept_terms(
    roots: Iterable[str],
    expanded: Mapping[str, Expanded],
    previous: Mapping[str, dict[str, list[str]]],
) -> dict[str, dict[str, list[str]]]:
    """Each synonym root's terms by code; a root the answer gave no designation for keeps its
    previous terms (one warning line), or, having none, its displays."""
    terms: dict[str, dict[str, list[str]]] = {}
    kept: list[str] = []
    bare: list[str] = []
    for root in roots:
        found, before = expanded.get(root), previous.get(root)
        if found is None:
            continue
        if not found.designated:
            (kept if before else bare).append(f"<< {root}")
        terms[root] = before if before and not found.designated else found.terms
    if kept:
        log.warning(
            "SNOMED CT refresh: no designations for %s; keeping their previous synonyms",
            ", ".join(kept),
        )
    if bare:
        log.info("SNOMED CT refresh: no designations for %s; displays only", ", ".join(bare))
    return terms


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
