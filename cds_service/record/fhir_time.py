"""FHIR date and dateTime strings to timezone-aware datetimes (UTC when no zone is given)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta


def parse_datetime(value: object, latest: bool = False) -> datetime | None:
    """``2026``, ``2026-11``, ``2026-11-20`` or a full dateTime; None when absent or invalid.

    A partial date means its first instant, or with ``latest`` its last (``2026`` up to
    2026-12-31T23:59:59Z), for rules that must not miss a recent finding.
    """
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    try:
        if len(text) in (4, 7, 10):
            first = datetime(int(text[:4]), int(text[5:7] or 1), int(text[8:10] or 1), tzinfo=UTC)
            if not latest:
                return first
            if len(text) == 4:
                return datetime(first.year, 12, 31, 23, 59, 59, tzinfo=UTC)
            if len(text) == 7:
                if first.month == 12:
                    return datetime(first.year, 12, 31, 23, 59, 59, tzinfo=UTC)
                following = datetime(first.year, first.month + 1, 1, tzinfo=UTC)
                return following - timedelta(seconds=1)
            return first + timedelta(days=1, seconds=-1)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
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
        if parsed.month == 12:  # no "following month" to step back from in year 9999
            return date(parsed.year, 12, 31)
        return date(parsed.year, parsed.month + 1, 1) - timedelta(days=1)
    return parsed


def partial_until(value: object) -> datetime | None:
    """The last instant a partial date (``2026``, ``2026-11``) can mean; None for any other
    value (a full date or dateTime is one point; an absent or unreadable one is undated)."""
    if not isinstance(value, str) or len(value.strip()) not in (4, 7):
        return None
    return parse_datetime(value, latest=True)


def span_text(first: datetime | None, last: datetime | None) -> str | None:
    """A date as recorded, from the first and last instants it can mean: ``2026`` (a year),
    ``2026-11`` (a month), else the day of ``first`` (``last`` None: one point; ``first``
    None: ``last`` alone is known, one point; both None: no date)."""
    if first is None:
        first, last = last, None
    if first is None:
        return None
    if last is None or last - first < timedelta(days=2):
        return first.date().isoformat()
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.year:04d}-{first.month:02d}"
    return f"{first.year:04d}"
