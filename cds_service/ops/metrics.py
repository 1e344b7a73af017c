"""Prometheus metrics: hook calls, errors and latency; outbound FHIR fetches; cards.

Under granian with several workers, ``PROMETHEUS_MULTIPROC_DIR`` is set by ``cds-service serve``
before this module is imported, and ``/metrics`` aggregates every worker's values.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from cds_service.advice.appraised import AppraisedOrder

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0)

REQUESTS = Counter(
    "cds_requests_total",
    "CDS Hooks requests by service (or endpoint) and HTTP status",
    ["service", "status"],
)
REQUEST_SECONDS = Histogram(
    "cds_request_seconds",
    "Time to answer a CDS Hooks request, by service (or endpoint) and HTTP status",
    ["service", "status"],
    buckets=LATENCY_BUCKETS,
)
FHIR_FETCHES = Counter(
    "cds_fhir_fetches_total",
    "Prefetch keys read from the EHR's FHIR server, by key and outcome",
    ["key", "outcome"],
)
FHIR_FETCH_SECONDS = Histogram(
    "cds_fhir_fetch_seconds",
    "Time for the FHIR fetches of one hook call",
    buckets=LATENCY_BUCKETS,
)
CARDS = Counter(
    "cds_cards_total",
    "Cards returned, by indicator and ACR rating (or why none applies)",
    ["indicator", "rating"],
)


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus text format (every worker's, under granian)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


def count_fetches(results: Mapping[str, object], seconds: float) -> None:
    """The FHIR fetches of one hook call: their time, and each key's outcome."""
    FHIR_FETCH_SECONDS.observe(seconds)
    for key, result in results.items():
        FHIR_FETCHES.labels(key, "ok" if isinstance(result, dict) else "error").inc()


def count_cards(orders: Iterable[AppraisedOrder]) -> None:
    """The cards of one hook call, by indicator and rating."""
    for order in orders:
        if order.card is not None:
            CARDS.labels(order.card.indicator, order.rating).inc()
