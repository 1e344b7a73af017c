"""Service configuration, read from ``CDS_*`` environment variables.

Every setting is documented in the README's configuration table; keep the two in step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PamaCode = Literal["appropriate", "not-appropriate", "no-criteria-apply"]


class Settings(BaseSettings):
    """Runtime settings. Construct directly in tests; from the environment in production."""

    model_config = SettingsConfigDict(env_prefix="CDS_", extra="ignore", frozen=True)

    max_body_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    """Largest accepted request body; larger bodies get 413."""

    cors_origins: str = "*"
    """Comma-separated origins allowed to call from a browser, or ``*`` (no credentials)."""

    knowledge_file: Path | None = None
    """Alternative knowledge file; the packaged ACR file when unset."""

    out_of_scope_cards: bool = True
    """Show an info card when the patient falls outside the variant (never a warning)."""

    may_be_appropriate_rating: PamaCode = "appropriate"
    """Argonaut pama-rating code reported for a 'May be appropriate' order."""

    log_level: str = "INFO"


def load_settings(overrides: dict[str, object] | None = None) -> Settings:
    """Read the environment, then apply explicit overrides (an app-factory config)."""
    return Settings(**(overrides or {}))  # type: ignore[arg-type]
