"""Kept-alive connections spread evenly over the worker processes.

A kept-alive connection stays with the worker that accepted it, and the kernel hands new
connections to the workers as they come, whatever each one holds: eight clients on two workers
land four and four only about a quarter of the time. The work is CPU-bound, so at six and two
the busier worker's clients wait three times as long as the other's, for as long as they keep
their connections (the load test's p99 came from there). So each worker counts the client
connections it served in the last :data:`WINDOW` seconds, in memory shared by all the workers
(made before they are forked), and a worker that serves :data:`SPREAD` or more connections
than the least busy one answers with ``Connection: close``: that client's next connection lands
anew. Once the workers are even, no connection is closed.

A connection's first response never closes it: a client that pipelines a second request behind
its first one's body gets both answered (a client that pipelines later on a connection told to
close retries what went unanswered, as HTTP/1.1 asks: RFC 9112, section 9.3.2).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
from typing import Any

WINDOW = 2.0
"""Seconds a connection counts as served by a worker after its last request."""
SPREAD = 2
"""Connections more than the least busy worker at which a worker closes one."""
SLACK = 2
"""Slots per worker: a replaced worker's successor may start before it has gone."""

JOIN_WAIT = 1.0
"""Seconds a starting worker waits for the slots' lock."""

Client = tuple[str, int]


class ConnectionSpread:
    """Each worker's count of connections, in memory its forked workers share."""

    def __init__(self, workers: int) -> None:
        slots = max(1, workers) * SLACK
        self.lock = multiprocessing.get_context("fork").Lock()
        self.pids = multiprocessing.RawArray(ctypes.c_long, slots)
        self.counts = multiprocessing.RawArray(ctypes.c_int, slots)

    def join(self, pid: int) -> WorkerConnections | None:
        """A slot for worker ``pid`` (one whose worker has gone, or a free one); None if
        every slot is held by a live worker, or the lock is held by a worker killed while
        joining (that worker then never closes a connection)."""
        if not self.lock.acquire(timeout=JOIN_WAIT):
            return None
        try:
            for slot, holder in enumerate(self.pids):
                if holder == 0 or not _alive(holder):
                    self.pids[slot] = pid
                    self.counts[slot] = 0
                    return WorkerConnections(self, slot)
        finally:
            self.lock.release()
        return None

    def least_other(self, slot: int) -> int | None:
        """The fewest connections a live worker other than ``slot`` serves."""
        counts = [
            self.counts[other]
            for other, holder in enumerate(self.pids)
            if other != slot and holder != 0 and _alive(holder)
        ]
        return min(counts, default=None)


class WorkerConnections:
    """The connections one worker served lately (only its event loop calls it: no lock)."""

    def __init__(self, spread: ConnectionSpread, slot: int) -> None:
        self.spread = spread
        self.slot = slot
        self.seen: dict[Client, tuple[float, int]] = {}
        """Client address -> when it was last served and how many responses it got, oldest
        first."""

    def should_close(self, client: Any, now: float) -> bool:
        """Record a response to ``client``; True if its connection should close after it."""
        if not isinstance(client, (tuple, list)) or len(client) != 2:
            return False
        key = (str(client[0]), int(client[1]))
        _, served = self.seen.pop(key, (now, 0))
        self.seen[key] = (now, served + 1)
        while self.seen and next(iter(self.seen.values()))[0] < now - WINDOW:
            del self.seen[next(iter(self.seen))]
        least = self.spread.least_other(self.slot)
        close = served > 0 and least is not None and len(self.seen) - least >= SPREAD
        if close:
            del self.seen[key]
        self.spread.counts[self.slot] = len(self.seen)
        return close


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
