"""Clock and ISO helpers shared by every stage (UTC everywhere inside)."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime | None) -> str | None:
    """An aware datetime as ISO 8601 in UTC, seconds precision: 2021-12-08T11:30:00+00:00."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        raise ValueError("naive datetime given where an aware one is required")
    return dt.astimezone(UTC).replace(microsecond=0).isoformat()


def parse_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
