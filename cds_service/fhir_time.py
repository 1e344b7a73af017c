"""FHIR date and dateTime strings to timezone-aware datetimes (UTC when no zone is given)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta


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


def latest_date(value: object) -> date | None:
    """The last day a partial date can mean (``2008`` is up to 2008-12-31), for age checks."""
    parsed = parse_date(value)
    if parsed is None or not isinstance(value, str):
        return parsed
    text = value.strip()
    if len(text) == 4:
        return date(parsed.year, 12, 31)
    if len(text) == 7:
        following = date(parsed.year + parsed.month // 12, parsed.month % 12 + 1, 1)
        return following - timedelta(days=1)
    return parsed
