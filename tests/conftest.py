from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient

sys.path.insert(0, str(Path(__file__).resolve().parent))

# Every app the tests create keeps its store in a throw-away SQLite file, unless
# CDS_DATABASE_URL already points somewhere (PostgreSQL in CI): the same tests then run on it.
os.environ.setdefault(
    "CDS_DATABASE_URL",
    f"sqlite:///{tempfile.mkdtemp(prefix='cds-service-tests-')}/store.sqlite3",
)
# ... and never reads or writes the user's SNOMED CT expansion cache, nor a terminology server.
os.environ["CDS_TERMINOLOGY_CACHE"] = (
    f"{tempfile.mkdtemp(prefix='cds-service-tests-')}/snomed-expansions.json"
)
os.environ.pop("CDS_TERMINOLOGY_URL", None)

from cds_service import create_app

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def app() -> Flask:
    return create_app({"TESTING": True}, clock=lambda: NOW)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    """Every outbound HTTP call of the test answered by responses; an unregistered URL fails."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps
