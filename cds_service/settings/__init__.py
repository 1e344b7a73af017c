"""Service configuration, read from ``CDS_*`` environment variables: the one source.

Each setting is a field of a group below (one module per concern); its variable is ``CDS_`` and
the field's name in capitals, its type says how the value is read, its docstring what it
means. The start-up errors (``web/startup.py``) and the settings table (``docs/settings.md``,
:mod:`cds_service.settings.reference`) are derived from the fields.
"""

from __future__ import annotations

from pydantic_settings import BaseSettings

from cds_service.settings.auth import AuthSettings, IssuerConfig, TrustedIssuers
from cds_service.settings.clinic import ClinicSettings, PamaCode
from cds_service.settings.ehr import PROFILE_OF_REPLACE_ACTION, EhrProfile, EhrSettings
from cds_service.settings.fhir import FhirSettings
from cds_service.settings.server import ServerSettings
from cds_service.settings.store import (
    StoreSettings,
    TerminologySettings,
    default_cache_path,
    default_database_url,
)
from cds_service.settings.values import CONFIG

__all__ = [
    "PROFILE_OF_REPLACE_ACTION",
    "EhrProfile",
    "IssuerConfig",
    "PamaCode",
    "Settings",
    "TrustedIssuers",
    "default_cache_path",
    "default_database_url",
    "load_settings",
]


class Settings(
    ServerSettings,
    ClinicSettings,
    EhrSettings,
    FhirSettings,
    AuthSettings,
    StoreSettings,
    TerminologySettings,
    BaseSettings,
):
    """Runtime settings, every group's fields as attributes (``settings.fhir_deadline``).
    Construct directly in tests; from the environment in production."""

    model_config = CONFIG


GROUPS: tuple[type[BaseSettings], ...] = Settings.__bases__[:-1]
"""The groups, in the order the settings table shows them."""


def load_settings(overrides: dict[str, object] | None = None) -> Settings:
    """Read the environment, then apply explicit overrides (an app-factory config)."""
    return Settings(**(overrides or {}))  # type: ignore[arg-type]
