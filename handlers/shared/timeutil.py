"""Timestamps: fixed-width RFC 3339 UTC strings, so lexical order equals chronological order."""

from __future__ import annotations

from datetime import UTC, datetime

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def utc_now() -> datetime:
    """Return the current time, timezone-aware UTC."""
    return datetime.now(UTC)


def to_iso(moment: datetime) -> str:
    """Format a datetime as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (always microseconds, always UTC)."""
    return moment.astimezone(UTC).strftime(_FORMAT)


def from_iso(text: str) -> datetime:
    """Parse a timestamp written by :func:`to_iso`; raise ValueError for anything else."""
    return datetime.strptime(text, _FORMAT).replace(tzinfo=UTC)
