"""Service configuration, read from ``CDS_*`` environment variables.

Every setting is documented in the README's configuration table; keep the two in step.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PamaCode = Literal["appropriate", "not-appropriate", "no-criteria-apply"]
EhrProfile = Literal["sandbox", "epic", "spec"]
PROFILE_OF_REPLACE_ACTION: dict[str, EhrProfile] = {"update": "sandbox", "delete-create": "spec"}
"""``CDS_REPLACE_ACTION``, the former setting, as the profile it names."""
CODING_PAIR = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s|]+\|[^\s|]+(?: [^\s|]+)*")
"""``system|code``: a URI without spaces, then a FHIR code (single inner spaces allowed)."""


class EhrSettings(BaseSettings):
    """The settings that fit the suggestions to the EHR that shows them (advice/profiles.py)."""

    model_config = SettingsConfigDict(env_prefix="CDS_", extra="ignore", frozen=True)

    ehr_profile: EhrProfile = "sandbox"
    """The form of the suggestions, for the EHR that shows them: ``sandbox`` (one ``update``
    of the draft order, the CDS Hooks sandbox's and the PAMA convention's form), ``spec``
    (delete the order and create the MRI, in one suggestion) or ``epic`` (one action per
    suggestion, only ``create`` and ``delete``, ``selectionBehavior`` "any")."""

    replace_action: Literal["update", "delete-create"] | None = None
    """The former name of ``ehr_profile``, still read: ``update`` is ``sandbox``,
    ``delete-create`` is ``spec``. Set with a different ``ehr_profile``, start-up stops."""

    mri_order_coding: str | None = None
    """``system|code`` of the site's orderable for MRI cervical spine without IV contrast
    (Epic: ``urn:com.epic.cdshooks.action.code.system.preference-list-item|<site code>``):
    the first coding of the MRI a card orders, before CPT 72141 and LOINC 30667-0."""

    @field_validator("mri_order_coding", mode="before")
    @classmethod
    def _coding_pair(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str) or not CODING_PAIR.fullmatch(value.strip()):
            raise ValueError("CDS_MRI_ORDER_CODING is not system|code")
        return value.strip()

    @property
    def mri_order_coding_pair(self) -> tuple[str, str] | None:
        """``mri_order_coding`` as (system, code), None when unset."""
        if self.mri_order_coding is None:
            return None
        system, code = self.mri_order_coding.split("|", 1)
        return system, code

    @model_validator(mode="before")
    @classmethod
    def _profile_of_alias(cls, data: Any) -> Any:
        """``replace_action`` names a profile; with a different ``ehr_profile``, an error."""
        if not isinstance(data, dict):
            return data
        alias = PROFILE_OF_REPLACE_ACTION.get(str(data.get("replace_action")).strip())
        if alias is None:
            return data  # unset, or a value the field itself rejects
        stated = data.get("ehr_profile")
        if stated is not None and str(stated).strip() != alias:
            raise ValueError(
                f"CDS_EHR_PROFILE={stated} and CDS_REPLACE_ACTION={data['replace_action']} "
                f"contradict (CDS_REPLACE_ACTION={data['replace_action']} means "
                f"CDS_EHR_PROFILE={alias}): set CDS_EHR_PROFILE only"
            )
        return {**data, "ehr_profile": alias}


class Settings(EhrSettings):
    """Runtime settings. Construct directly in tests; from the environment in production."""

    model_config = SettingsConfigDict(env_prefix="CDS_", extra="ignore", frozen=True)

    max_body_bytes: int = Field(default=32 * 1024 * 1024, gt=0)
    """Largest accepted request body; larger bodies get 413. A body in flight costs about 1.4
    times its size (the bytes, and 0.43 times them for what the call builds: the prefetch is
    decoded only as far as a rule reads it): 32 MiB takes a prefetch of some 38,000 resources
    of a realistic record (10,000 are 8.3 MiB) for about 45 MiB per call."""

    request_read_timeout: float = Field(default=10.0, gt=0)
    """Seconds a client has to send a whole request (headers and body) to ``cds-service
    serve``; a slower one is answered 408 and closed, without ever holding a worker thread."""

    max_draft_orders: int = Field(default=50, gt=0)
    """Draft orders one hook call may carry (``context.draftOrders`` entries); more is a 400."""

    max_prefetch_resources: int = Field(default=20_000, gt=0)
    """Resources one prefetch key may hold (sent, or fetched over all its pages); more is a
    400 for a prefetch the EHR sent, a 412 for a search the FHIR server answered."""

    text_cache_bytes: int = Field(default=4 * 1024 * 1024, ge=0)
    """Bytes of free text whose reading (medspaCy) is remembered, per worker process."""

    cors_origins: str = "*"
    """Comma-separated origins allowed to call from a browser, or ``*`` (no credentials)."""

    knowledge_file: Path | None = None
    """Alternative knowledge file; the packaged ACR file when unset."""

    out_of_scope_cards: bool = True
    """Show an info card when the patient falls outside the variant (never a warning)."""

    may_be_appropriate_rating: PamaCode = "appropriate"
    """Argonaut pama-rating code reported for a 'May be appropriate' order."""

    mode: Literal["live", "silent"] = "live"  # silent: audited as live, no card (README)

    fhir_allowlist: str = ""
    """Comma-separated fhirServer URL prefixes the service may call; ``*`` for any; none when
    empty (then missing prefetch is answered 412)."""

    fhir_anonymous: bool = False
    """Fetch from an allowlisted fhirServer even when the request has no fhirAuthorization
    (open test servers, such as the CDS Hooks sandbox's default one)."""

    fhir_connect_timeout: float = Field(default=0.25, gt=0)
    """Seconds to connect to the FHIR server."""

    fhir_read_timeout: float = Field(default=0.6, gt=0)
    """Seconds to wait for each read from the FHIR server."""

    fhir_deadline: float = Field(default=0.8, gt=0)
    """Seconds all FHIR fetches of one hook call may take together."""

    fhir_max_pages: int = Field(default=20, gt=0)
    """Pages of one search the service follows; more is answered 412 (never a partial record)."""

    fhir_max_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    """Bytes the FHIR server's answers to one hook call may total (every key and page); the
    connection is closed when they reach it and the call gets 412."""

    fhir_max_workers: int = Field(default=16, gt=0)
    """Threads for concurrent FHIR fetches, shared by all calls of a worker process."""

    database_url: str = Field(default_factory=lambda: default_database_url())
    """SQLAlchemy URL of the store (hook calls, feedback, seen JWT ids); by default a SQLite
    file that does not depend on the working directory (``default_database_url``),
    ``postgresql+psycopg://...`` for several replicas."""

    trusted_issuers: str = ""
    """JSON, or ``@path`` to a JSON file, mapping each trusted JWT issuer to its keys:
    ``{"<iss>": {"jwks": {"keys": [...]}}}`` or ``{"<iss>": {"jwks_url": "https://..."}}``
    (optionally ``jku_allowlist`` and ``tenants``). Empty: no authentication (development)."""

    public_base_url: str | None = None
    """The service's public URL (``https://cds.example.org``) when it runs behind a proxy: the
    JWT ``aud`` must equal this plus the path called. Unset: the URL of the request."""

    jwt_leeway: float = Field(default=30.0, ge=0)
    """Seconds of clock skew allowed on ``exp``, ``iat`` and ``nbf``."""

    workers: int = Field(default=2, gt=0)
    """granian worker processes for ``cds-service serve`` (2 suits a 2-core machine)."""

    threads: int = Field(default=1, gt=0)
    """Threads per worker. The work is CPU-bound: on 2 cores, 2 workers x 1 thread served
    1.8 times the calls of 2 x 2 with less than half the p99 (benchmarks/load_test.py, see the
    README). Raise it when the EHR's prefetch is often incomplete: a thread waiting on the
    FHIR server (up to ``fhir_deadline``) then holds its worker."""

    worker_timeout: int = Field(default=30, gt=0)
    """Unused since ``serve`` runs granian (no worker heartbeat); kept so configurations start."""

    worker_max_rss_mb: int = Field(default=1024, ge=0)  # a worker past it is replaced (README)

    log_level: str = "INFO"
    """Level of the service's JSON logs: DEBUG, INFO, WARNING, ERROR or CRITICAL."""

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    timezone: str = "UTC"
    """IANA time zone of the clinic (``Europe/Paris``): its calendar decides the date on which
    a patient turns 18. A name zoneinfo does not know stops start-up."""

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"CDS_TIMEZONE {value!r} is not an IANA time zone name (e.g. 'UTC', "
                "'America/New_York')"
            ) from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The clinic's time zone (see ``timezone``)."""
        return ZoneInfo(self.timezone)

    terminology_url: str | None = None
    """FHIR terminology server that expands each exclusion group's SNOMED CT roots
    (``ValueSet/$expand``); unset: the cache file's expansions, else only the listed codes."""

    terminology_cache: Path | None = Field(default_factory=lambda: default_cache_path())
    """JSON file of the expansions, read at start-up and rewritten after each refresh;
    ``$XDG_CACHE_HOME/cds-service/snomed-expansions.json`` (else ``~/.cache/...``); empty: none."""

    @field_validator("terminology_cache", mode="before")
    @classmethod
    def _empty_cache_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    terminology_refresh_hours: float = Field(default=24.0, gt=0)
    """Hours between refreshes of the expansions (each worker process refreshes)."""

    terminology_timeout: float = Field(default=10.0, gt=0)
    """Seconds to connect to, and to wait for each read from, the terminology server."""


def default_database_url() -> str:
    """``sqlite:///$XDG_DATA_HOME/cds-service/store.sqlite3`` (else ``~/.local/share/...``):
    the same store whatever the working directory."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return f"sqlite:///{Path(base).resolve() / 'cds-service' / 'store.sqlite3'}"


def default_cache_path() -> Path:
    """``$XDG_CACHE_HOME/cds-service/snomed-expansions.json``, else under ``~/.cache``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cds-service" / "snomed-expansions.json"


def load_settings(overrides: dict[str, object] | None = None) -> Settings:
    """Read the environment, then apply explicit overrides (an app-factory config)."""
    return Settings(**(overrides or {}))  # type: ignore[arg-type]
