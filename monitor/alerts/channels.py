"""The channel registry: channel type -> sender class. Add a channel by adding a row."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from monitor.alerts.console import ConsoleSender
from monitor.alerts.email import EmailSender
from monitor.alerts.message import Sender
from monitor.alerts.webhook import WebhookSender
from monitor.config import ConsoleChannel, EmailChannel, WebhookChannel

CHANNELS: dict[str, Callable[[Any], Sender]] = {
    "email": EmailSender,
    "webhook": WebhookSender,
    "console": ConsoleSender,
}


def open_sender(channel: EmailChannel | WebhookChannel | ConsoleChannel) -> Sender:
    """A sender for a configured channel (use it with ``async with``)."""
    return CHANNELS[channel.type](channel)
