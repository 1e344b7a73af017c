"""Kept-alive connections spread over the workers: the busier worker closes one at a time."""

from __future__ import annotations

import os
import subprocess
import sys

from cds_service.web.spread import SPREAD, WINDOW, ConnectionSpread, WorkerConnections


def two_workers() -> tuple[WorkerConnections, WorkerConnections]:
    spread = ConnectionSpread(2)
    first, second = spread.join(os.getpid()), spread.join(os.getppid())
    assert first is not None and second is not None
    return first, second


def serve(worker: WorkerConnections, clients: range, now: float) -> list[bool]:
    return [worker.should_close(("127.0.0.1", port), now) for port in clients]


def alternate(first: WorkerConnections, second: WorkerConnections, each: int, now: float) -> None:
    """Both workers take ``each`` new connections, one after the other (none is closed)."""
    for index in range(each):
        assert serve(first, range(200 + index, 201 + index), now) == [False]
        assert serve(second, range(100 + index, 101 + index), now) == [False]


def test_a_worker_holding_more_connections_closes_until_the_workers_are_even() -> None:
    busy, idle = two_workers()
    alternate(busy, idle, 2, now=10.0)
    # two against two, then four more on the busy worker: their first responses keep them
    assert serve(busy, range(202, 206), now=10.0) == [False, False, False, False]
    # at their next requests it closes until it holds one connection short of the spread
    assert serve(busy, range(202, 206), now=10.1) == [True, True, True, False]
    assert len(busy.seen) == 2 + SPREAD - 1
    assert serve(busy, range(200, 203), now=10.5) == [False, False, False]  # kept ones


def test_a_connections_first_response_never_closes_it() -> None:
    """A client may have pipelined a second request behind its first one's body."""
    busy, _ = two_workers()
    assert not any(serve(busy, range(200, 220), now=1.0))
    assert serve(busy, range(200, 201), now=1.1) == [True]


def test_even_workers_close_nothing() -> None:
    first, second = two_workers()
    alternate(first, second, 4, now=10.0)
    for later in (10.5, 11.0, 11.5):
        assert not any(serve(first, range(200, 204), now=later))
        assert not any(serve(second, range(100, 104), now=later))


def test_connections_idle_past_the_window_no_longer_count() -> None:
    busy, idle = two_workers()
    alternate(busy, idle, 2, now=10.0)
    serve(idle, range(100, 102), now=10.0 + WINDOW + 1)
    # the busy worker's two earlier connections have gone quiet: they are forgotten
    assert serve(busy, range(300, 301), now=10.0 + WINDOW + 1) == [False]
    assert list(busy.seen) == [("127.0.0.1", 300)]


def test_a_gone_workers_slot_goes_to_its_successor_and_it_is_not_counted() -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    spread = ConnectionSpread(1)  # two slots
    alone = spread.join(os.getpid())
    dead = spread.join(int(gone.stdout))
    assert alone is not None and dead is not None
    assert not any(serve(alone, range(200, 210), now=1.0))  # no live worker to compare with
    successor = spread.join(os.getppid())
    assert successor is not None and successor.slot == dead.slot


def test_every_slot_held_by_a_live_worker_leaves_the_newcomer_without_one() -> None:
    spread = ConnectionSpread(1)
    assert spread.join(os.getpid()) is not None and spread.join(os.getppid()) is not None
    assert spread.join(os.getpid()) is None


def test_a_request_without_a_client_address_is_never_closed() -> None:
    busy, _ = two_workers()
    serve(busy, range(200, 210), now=1.0)
    assert not busy.should_close(None, 1.0)
    assert not busy.should_close("unix-socket", 1.0)


def test_a_lock_left_held_by_a_killed_worker_does_not_hold_a_new_one_for_good() -> None:
    spread = ConnectionSpread(1)
    spread.lock.acquire()
    assert spread.join(os.getpid()) is None
