"""The settings of ``cds-service serve``: its processes, its limits on a request, its logs."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field
from pydantic_settings import BaseSettings

from cds_service.settings.values import (
    CONFIG,
    Bytes,
    CommaList,
    Megabytes,
    Seconds,
    WholeSeconds,
)


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


LogLevel = Annotated[
    Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], BeforeValidator(_upper)
]


class ServerSettings(BaseSettings):
    """The server and its requests"""

    model_config = CONFIG

    workers: int = Field(default=2, gt=0)
    """granian worker processes for ``cds-service serve`` (2 suits a 2-core machine);
    ``--workers`` overrides it."""

    threads: int = Field(default=1, gt=0)
    """Threads per worker (``--threads`` overrides it). The work is CPU-bound: on 2 cores, 2
    workers x 1 thread served 1.8 times the calls of 2 x 2 with less than half the p99
    (``benchmarks/load_test.py``). Raise it when the EHR's prefetch is often incomplete: a
    thread waiting on the FHIR server (up to ``CDS_FHIR_DEADLINE``) holds its worker."""

    worker_timeout: WholeSeconds = Field(default=30, gt=0)
    """Read, but unused since the server is granian (it has no worker heartbeat; a worker that
    has not stopped 10 s after SIGTERM is killed): kept so that existing configurations still
    start."""

    worker_max_rss_mb: Megabytes = Field(default=1024, ge=0)
    """Resident memory past which ``serve`` replaces a worker (a new one forked from the
    parent, the old one finishing its requests; sampled every 10 s); ``0``: never. The bound
    on what no cache can bound, such as spaCy's vocabulary."""

    max_body_bytes: Bytes = Field(default=32 * 1024 * 1024, gt=0)
    """Largest accepted request body; a larger one gets 413. A body in flight costs about 1.4
    times its size in memory: the bytes, held once, and 0.43 times them for what the call
    builds (the prefetch is decoded only as far as a rule reads it). 32 MiB takes a realistic
    record of some 38,000 resources for about 45 MiB per call."""

    request_read_timeout: Seconds = Field(default=10.0, gt=0)
    """Seconds a client has to send a whole request (headers and body) to ``cds-service
    serve``; a slower one gets 408 and is closed, without ever holding a worker thread."""

    max_draft_orders: int = Field(default=50, gt=0)
    """Entries of ``context.draftOrders`` one hook call may carry; more is a 400 naming the
    limit."""

    max_prefetch_resources: int = Field(default=20_000, gt=0)
    """Resources one prefetch key may hold: a prefetch the EHR sent with more is a 400, a
    search the FHIR server answers with more (all pages) a 412."""

    text_cache_bytes: Bytes = Field(default=4 * 1024 * 1024, ge=0)
    """Bytes of free text whose reading (medspaCy ConText) each worker process remembers,
    least recently used out."""

    cors_origins: CommaList = ("*",)
    """Origins allowed to call from a browser (the CDS Hooks sandbox); ``*`` (or empty) allows
    any, without credentials."""

    log_level: LogLevel = "INFO"
    """Level of the service's JSON logs (``INFO``: one line per hook call)."""
