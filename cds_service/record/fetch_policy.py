"""Which FHIR server a hook call may read, with which token: the outbound safety rules."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from typing import Any

import requests

from cds_service.errors import FhirFetchError
from cds_service.protocol import HookRequest
from cds_service.record.fhir_client import (
    FhirClient,
    FhirLimits,
    allowed,
    normalise_url,
    read_all,
)
from cds_service.record.prefetch import Fetcher, refuse
from cds_service.settings import Settings

FetchObserver = Callable[[Mapping[str, object], float], None]
"""Told of each call's fetches: the result per key (JSON or the error) and the seconds taken."""


class FetchPolicy:
    """Gives each hook call a fetcher bound to its fhirServer and token, or one that refuses.

    The service only calls a ``fhirServer`` that matches ``CDS_FHIR_ALLOWLIST``; it needs the
    call's ``fhirAuthorization`` unless ``CDS_FHIR_ANONYMOUS`` allows open servers.
    """

    def __init__(
        self,
        settings: Settings,
        session: requests.Session,
        executor: Executor,
        observe: FetchObserver | None = None,
    ) -> None:
        self._settings = settings
        self._observe = observe
        self._session = session
        self._executor = executor
        self._limits = FhirLimits(
            connect_timeout=settings.fhir_connect_timeout,
            read_timeout=settings.fhir_read_timeout,
            deadline=settings.fhir_deadline,
            max_pages=settings.fhir_max_pages,
            max_bytes=settings.fhir_max_bytes,
            max_resources=settings.max_prefetch_resources,
        )

    def __call__(self, request: HookRequest) -> Fetcher:
        if request.fhirServer is None:
            return refuse("the request has no fhirServer")
        server = normalise_url(str(request.fhirServer))  # as it will be called
        if server is None:
            return refuse("its fhirServer is not a plain http(s) URL")
        if not allowed(server, self._settings.fhir_allowlist):
            return refuse("its fhirServer is not in this service's CDS_FHIR_ALLOWLIST")
        authorization = request.fhirAuthorization
        if authorization is None and not self._settings.fhir_anonymous:
            return refuse("the request has no fhirAuthorization")
        token = authorization.access_token if authorization else None
        client = FhirClient(self._session, server, token, self._limits)
        executor, observe = self._executor, self._observe

        def fetch(queries: Any) -> dict[str, dict[str, Any] | FhirFetchError]:
            started = time.perf_counter()
            results = read_all(client, queries, executor)
            if observe is not None:
                observe(results, time.perf_counter() - started)
            return results

        return fetch
