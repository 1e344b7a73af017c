"""FHIR date and dateTime strings to timezone-aware datetimes (UTC when no zone is given)."""

from __future__ import annotations

from datetime import UTC, date, datetime


def parse_datetime(value: object) -> datetime | None:
    """``2026``, ``2026-11``, ``2026-11-20`` or a full dateTime; None when absent or invalid."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    try:
        if len(text) == 4:
            return datetime(int(text), 1, 1, tzinfo=UTC)
        if len(text) == 7:
            return datetime(int(text[:4]), int(text[5:7]), 1, tzinfo=UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_date(value: object) -> date | None:
    parsed = parse_datetime(value)
    return parsed.date() if parsed else None
