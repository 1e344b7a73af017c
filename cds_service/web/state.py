"""The application's state: what :func:`~cds_service.web.app.create_app` builds, stored once
on the Flask app and read back typed."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from cds_service.ops.knowledge_updater import KnowledgeUpdater
from cds_service.ops.store import Store
from cds_service.pipeline import Dependencies
from cds_service.services import Service
from cds_service.settings import Settings
from cds_service.web.auth import Authenticator

EXTENSION_KEY = "cds_service"
"""The app's one ``extensions`` entry: its :class:`AppState`."""


@dataclass(frozen=True)
class AppState:
    """Everything a request (or the server starting a worker) needs of the app."""

    settings: Settings
    services: dict[str, Service]
    """The registry, by service id."""
    dependencies: Dependencies
    """What each hook call needs besides the request."""
    store: Store
    terminology: KnowledgeUpdater
    """The SNOMED CT expansions' updater (each worker starts its refresh thread)."""
    authenticator: Authenticator

    def install(self, app: Flask) -> None:
        app.extensions[EXTENSION_KEY] = self


def app_state(app: Flask) -> AppState:
    """The state ``create_app`` stored on ``app`` (a LookupError for any other app)."""
    state = find_app_state(app)
    if state is None:
        raise LookupError("not an app built by cds_service.create_app")
    return state


def find_app_state(app: object) -> AppState | None:
    """The state stored on ``app``, or None for an app ``create_app`` did not build."""
    extensions = getattr(app, "extensions", None)
    state = extensions.get(EXTENSION_KEY) if isinstance(extensions, dict) else None
    return state if isinstance(state, AppState) else None
