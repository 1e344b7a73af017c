"""Every memory a caller can grow is bounded in bytes (docs/performance.md, "Memory a caller
can grow"): the coding-system memo keeps no long key, and a worker past ``CDS_WORKER_MAX_RSS_MB`` is
replaced by the server (what no cache bounds: spaCy's vocabulary)."""

from __future__ import annotations

from pathlib import Path

from cds_service.clinical.codes import _SPELLINGS_KEPT, SPELLING_KEY_MAX_CHARS, SystemTable
from cds_service.settings import Settings
from cds_service.web.server import server_options

SNOMED = "http://snomed.info/sct"
PERFORMANCE = Path(__file__).resolve().parent.parent / "docs" / "performance.md"


def test_the_coding_system_memo_keeps_no_long_key() -> None:
    """200 distinct 1 MB systems grew a worker by 260 MB: any length was memoised."""
    table = SystemTable({SNOMED: SNOMED})
    for n in range(200):
        system = f"http://example.org/{n}/" + "x" * 1_000_000
        assert table.get(system) is None
    assert table.get(SNOMED.upper() + " " * 1_000_000) == SNOMED  # still read, not kept
    assert all(len(key) <= SPELLING_KEY_MAX_CHARS for key in table._spellings)


def test_the_coding_system_memo_is_bounded_in_bytes() -> None:
    table = SystemTable({SNOMED: SNOMED})
    for n in range(3 * _SPELLINGS_KEPT):
        table.get(f"http://example.org/{n}/" + "y" * 200)
    assert len(table._spellings) <= _SPELLINGS_KEPT
    assert sum(len(key) for key in table._spellings) <= _SPELLINGS_KEPT * SPELLING_KEY_MAX_CHARS


def test_a_worker_past_the_memory_bound_is_replaced() -> None:
    options = server_options("127.0.0.1", 8080, 2, Settings(worker_max_rss_mb=700))
    assert options["workers_max_rss"] == 700
    assert options["http"] == "1"  # HTTP/2 header blocks are bounded only at 16 MB
    assert (
        server_options("127.0.0.1", 8080, 2, Settings(worker_max_rss_mb=0))["workers_max_rss"]
        is None
    )


def test_the_docs_list_every_bound() -> None:
    section = PERFORMANCE.read_text().split("## Memory a caller can grow", 1)[1].split("\n#", 1)[0]
    for bound in (
        "CDS_MAX_BODY_BYTES",
        "CDS_TEXT_CACHE_BYTES",
        "CDS_WORKER_MAX_RSS_MB",
        "SPELLING_KEY_MAX_CHARS",
        "MEMO_LIMIT",
        "RAW_KEY_MAX_BYTES",
        "BUDGET_BODIES",
    ):
        assert bound in section, bound


def test_the_bodies_a_worker_holds_are_bounded_in_bytes() -> None:
    """Complete requests queued behind busy threads kept 451 MiB past the read timeout: the
    bodies a worker holds at once are now capped (BUDGET_BODIES x CDS_MAX_BODY_BYTES)."""
    import asyncio
    from collections.abc import MutableMapping
    from typing import Any

    from cds_service.web.front import BUDGET_BODIES, BufferedRequests

    async def run() -> list[int]:
        release = asyncio.Event()

        async def busy(scope: Any, receive: Any, send: Any) -> None:
            await release.wait()  # every thread busy: the request waits, its body held
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"", "more_body": False})

        front = BufferedRequests(busy, max_body=100, read_timeout=5)
        statuses: list[int] = []

        async def call() -> None:
            async def receive() -> dict[str, Any]:
                return {"type": "http.request", "body": b"x" * 100, "more_body": False}

            async def send(message: MutableMapping[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    statuses.append(message["status"])

            await front({"type": "http", "headers": []}, receive, send)

        calls = [asyncio.create_task(call()) for _ in range(BUDGET_BODIES + 2)]
        await asyncio.sleep(0.1)
        refused = list(statuses)
        release.set()
        await asyncio.gather(*calls)
        assert front.budget.held == 0  # every byte given back
        return [*refused, 0, *statuses[len(refused) :]]

    statuses = asyncio.run(run())
    assert statuses[:3] == [503, 503, 0]
    assert statuses[3:] == [200] * BUDGET_BODIES
