"""CDS Hooks 2.0 service: ACR Appropriateness Criteria for suspected cervicogenic headache.

The package itself stays light (``create_app`` imports the app on first use), so that the
``cds-service`` command can prepare the environment (metrics in multiprocess mode) before
anything else is imported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

    from cds_service.pipeline import FetcherForCall
    from cds_service.settings import Settings

__all__ = ["create_app"]
__version__ = "0.1.0"
"""The one source of the version: pyproject.toml reads it, and so does ``--version``."""


def create_app(
    config: Settings | Mapping[str, Any] | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
    fetcher_for: FetcherForCall | None = None,
) -> Flask:
    """Build the Flask app (see :func:`cds_service.web.app.create_app`)."""
    from cds_service.web.app import create_app as build

    return build(config, clock=clock, fetcher_for=fetcher_for)
