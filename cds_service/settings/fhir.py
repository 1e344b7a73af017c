"""The settings of the reads from the EHR's FHIR server, for what the prefetch lacks."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings

from cds_service.settings.values import CONFIG, Bytes, CommaList, Seconds


class FhirSettings(BaseSettings):
    """The EHR's FHIR server"""

    model_config = CONFIG

    fhir_allowlist: CommaList = ()
    """``fhirServer`` URL prefixes the service may call for data the prefetch lacks; ``*`` for
    any; empty: none. A server not on the list is never called (the call gets 412)."""

    fhir_anonymous: bool = False
    """Also fetch from an allowlisted server when the request has no ``fhirAuthorization``
    (open test servers such as the CDS Hooks sandbox's)."""

    fhir_connect_timeout: Seconds = Field(default=0.25, gt=0)
    """Seconds to connect to the FHIR server."""

    fhir_read_timeout: Seconds = Field(default=0.6, gt=0)
    """Seconds to wait for each read from the FHIR server."""

    fhir_deadline: Seconds = Field(default=0.8, gt=0)
    """Seconds all FHIR fetches of one hook call may take together."""

    fhir_max_pages: int = Field(default=20, gt=0)
    """Pages of one search the service follows; a longer search is a 412, never a partial
    record."""

    fhir_max_bytes: Bytes = Field(default=64 * 1024 * 1024, gt=0)
    """Bytes the FHIR server's answers to one hook call may total (every key and page,
    decompressed); the connection is closed when they reach it and the call gets 412."""

    fhir_max_workers: int = Field(default=16, gt=0)
    """Threads for concurrent FHIR fetches, shared by all calls of a worker process."""
