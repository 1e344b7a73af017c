from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient

# No test reads or writes the user's SNOMED CT expansion cache, nor a terminology server.
os.environ["CDS_TERMINOLOGY_CACHE"] = (
    f"{tempfile.mkdtemp(prefix='cds-service-tests-')}/snomed-expansions.json"
)
os.environ.pop("CDS_TERMINOLOGY_URL", None)
SHARED_DATABASE = os.environ.get("CDS_DATABASE_URL", "")
"""A database CI points the tests at (PostgreSQL): emptied before each test instead."""
# Apps built outside a test (module-scoped fixtures) use a throw-away file, never the user's.
os.environ.setdefault(
    "CDS_DATABASE_URL",
    f"sqlite:///{tempfile.mkdtemp(prefix='cds-service-tests-')}/store.sqlite3",
)

from support.clock import NOW  # noqa: E402
from support.stores import empty_database  # noqa: E402

from cds_service import create_app  # noqa: E402
from cds_service.pipeline import FetcherForCall  # noqa: E402

MakeClient = Callable[..., FlaskClient]


@pytest.fixture(autouse=True)
def fresh_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test gets a store of its own: a new SQLite file, or the CI database emptied."""
    if SHARED_DATABASE and not SHARED_DATABASE.startswith("sqlite"):
        empty_database(SHARED_DATABASE)
        return SHARED_DATABASE
    url = f"sqlite:///{tmp_path}/store.sqlite3"
    monkeypatch.setenv("CDS_DATABASE_URL", url)
    return url


@pytest.fixture
def make_app() -> Callable[..., Flask]:
    """``make_app(**config)``: an app at the tests' clock (``now=None``: the real one), with
    settings by name (``CDS_FHIR_ALLOWLIST=...``) and the test's own store."""

    def make(
        now: datetime | None = NOW,
        fetcher_for: FetcherForCall | None = None,
        **config: object,
    ) -> Flask:
        settings = {"TESTING": True, **config}
        clock = None if now is None else (lambda: now)
        return create_app(settings, clock=clock, fetcher_for=fetcher_for)

    return make


@pytest.fixture
def make_client(make_app: Callable[..., Flask]) -> MakeClient:
    """``make_client(**config)``: a test client of ``make_app(**config)``."""
    return lambda **config: make_app(**config).test_client()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    """Every outbound HTTP call of the test answered by responses; an unregistered URL fails."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def warnings(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """The terminology module's log lines (the service's loggers do not propagate)."""
    logger = logging.getLogger("cds_service.ops.terminology")
    propagate = logger.propagate
    logger.addHandler(caplog.handler)
    logger.propagate = False  # each record once, whether or not the app set up its logging
    caplog.set_level(logging.INFO, "cds_service.ops.terminology")
    try:
        yield caplog
    finally:
        logger.removeHandler(caplog.handler)
        logger.propagate = propagate
