"""The settings of the store (hook calls, feedback, seen JWT ids) and of the SNOMED CT
expansions: what the service keeps, and where."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

from cds_service.settings.values import CONFIG, Expected, Hours, Seconds


def default_database_url() -> str:
    """``sqlite:///$XDG_DATA_HOME/cds-service/store.sqlite3`` (else
    ``~/.local/share/cds-service/store.sqlite3``), whatever the working directory."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return f"sqlite:///{Path(base).resolve() / 'cds-service' / 'store.sqlite3'}"


def default_cache_path() -> Path:
    """``$XDG_CACHE_HOME/cds-service/snomed-expansions.json`` (else ``~/.cache/...``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cds-service" / "snomed-expansions.json"


class StoreSettings(BaseSettings):
    """The store"""

    model_config = CONFIG

    database_url: Annotated[str, Expected("a SQLAlchemy URL")] = Field(
        default_factory=default_database_url
    )
    """SQLAlchemy URL of the store: hook calls, feedback, seen JWT ids. Use PostgreSQL
    (``postgresql+psycopg://user:pass@host/db``, installed with ``pip install
    ".[postgres]"``) for several replicas."""


class TerminologySettings(BaseSettings):
    """The SNOMED CT expansions"""

    model_config = CONFIG

    terminology_url: Annotated[str | None, Expected("a URL")] = None
    """FHIR terminology server (``https://tx.example.org/fhir``) that expands each exclusion
    group's SNOMED CT roots (``ValueSet/$expand``). Unset: the cache file's expansions, else
    only the listed codes and the text rules."""

    terminology_cache: Path | None = Field(default_factory=default_cache_path)
    """JSON file of the expansions: read at start-up, rewritten after each refresh (empty: no
    file). A path that cannot be written is logged as a warning."""

    @field_validator("terminology_cache", mode="before")
    @classmethod
    def _empty_cache_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    terminology_refresh_hours: Hours = Field(default=24.0, gt=0)
    """Hours between refreshes of the expansions (each worker process refreshes; after a
    failure it tries again within 15 minutes)."""

    terminology_timeout: Seconds = Field(default=10.0, gt=0)
    """Seconds to connect to, and to wait for each read from, the terminology server."""
