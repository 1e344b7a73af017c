"""The current knowledge, with each exclusion group's SNOMED CT roots expanded: from the cache
file at start-up, then refreshed from the terminology server every
``CDS_TERMINOLOGY_REFRESH_HOURS`` (a failure keeps the previous expansions).

Threads do not survive the server's fork: the refresh thread starts per process, from the
``post_fork`` hook or lazily on the first call in a process (the pid is checked).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cds_service.clinical.compiled_knowledge import Knowledge
from cds_service.errors import TerminologyError
from cds_service.ops.expansion_cache import CacheError, Expansions, read_cache, write_cache
from cds_service.ops.terminology import TerminologyClient, safe_url

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
        if self._fetched is not None and cached.fetched <= self._fetched:
            return False
        self._swap({root: cached.expansions[root] for root in roots}, cached.fetched)
        return True

    def refresh_now(self) -> dict[str, list[str]]:
        """Expand every root now, swap the knowledge, write the cache; raise on failure."""
        if self._client is None:
            raise TerminologyError("no terminology server is configured (CDS_TERMINOLOGY_URL)")
        expansions = self._client.expand_all(self._base.codes.snomed_roots)
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
