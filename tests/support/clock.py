"""The instant every test's hook calls happen at (the scenarios' ``now``)."""

from __future__ import annotations

from datetime import UTC, datetime

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
