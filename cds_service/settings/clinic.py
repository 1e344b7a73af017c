"""The settings of the advice itself: the knowledge, the clinic's calendar, which cards show."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic_settings import BaseSettings

from cds_service.settings.values import CONFIG

PamaCode = Literal["appropriate", "not-appropriate", "no-criteria-apply"]


class ClinicSettings(BaseSettings):
    """The advice"""

    model_config = CONFIG

    knowledge_file: Path | None = None
    """Path of an alternative knowledge file (reviewed with ``cds-service knowledge
    explain``); unset: the packaged ACR file."""

    timezone: ZoneInfo = ZoneInfo("UTC")
    """IANA time zone of the clinic (``America/New_York``): its calendar decides the date on
    which a patient turns 18. A name the system's zoneinfo does not know stops start-up."""

    out_of_scope_cards: bool = True
    """Show an ``info`` card when the patient falls outside the variant (never a warning);
    ``false`` keeps only the systemAction (``no-criteria-apply``) and the escalation warning
    for a new neurologic deficit."""

    may_be_appropriate_rating: PamaCode = "appropriate"
    """The ``pama-rating`` code reported for "May be appropriate (Disagreement)":
    ``appropriate`` (as PAMA counted "may be appropriate" as adherent) or
    ``no-criteria-apply``."""

    mode: Literal["live", "silent"] = "live"
    """``silent`` for a silent go-live: every call is appraised and audited as in ``live`` but
    answered ``{"cards": []}`` with no systemActions; ``cds-service report`` shows the silent
    calls apart, with the cards they would have shown. The call's log line says ``"mode":
    "silent"``."""
