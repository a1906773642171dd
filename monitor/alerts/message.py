"""What a channel sends: one ``Message`` (a single alert, a digest, or a health notice).

A message is built from outbox rows at delivery time (so "also carried by" is up to date) and is
JSON-friendly: webhooks post its parts as they are, templates render them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from monitor.timeutil import utcnow

KINDS = ("match", "digest", "health")


@dataclass(frozen=True)
class Message:
    """One delivery. ``id`` is the idempotency key (webhook-id, Message-ID).

    ``alerts`` holds one view per alert: for matches ``{"id", "article": {...}, "matched": [...],
    "also": [...]}``; for health ``{"id", "source", "state", "message"}``.
    """

    id: str
    kind: str  # match | digest | health
    channel: str
    alerts: tuple[dict[str, Any], ...]
    rule: dict[str, Any] | None = None  # {"name", "query"}
    created_at: datetime = field(default_factory=utcnow)

    @property
    def alert_ids(self) -> tuple[str, ...]:
        return tuple(a["id"] for a in self.alerts)


class Sender(Protocol):
    """A channel's sender: opened once per delivery run, ``send()`` once per message.

    ``send`` returns when the far end accepted the message; it raises ``DeliveryError`` for a
    failure worth retrying (``retry_after`` when the server said when) and
    ``PermanentDeliveryError`` when retrying cannot help.
    """

    async def __aenter__(self) -> Sender: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def send(self, message: Message) -> None: ...


def stable_id(*parts: object) -> str:
    """A 32-hex-digit id derived from the parts (the same parts always give the same id)."""
    text = "\x1f".join(str(p) for p in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def digest_id(alert_ids: Sequence[str]) -> str:
    """The id of a digest message: derived from the ids it carries, so a resend keeps it."""
    return stable_id("digest", *sorted(alert_ids))


class Stateless:
    """The ``async with`` methods of a sender that keeps nothing open between messages."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None
