"""The console channel: prints each alert to standard output, one block per message."""

from __future__ import annotations

import sys

from monitor.alerts.message import Message, Stateless
from monitor.alerts.render import render
from monitor.config import ConsoleChannel
from monitor.errors import DeliveryError

RULE = "=" * 72


def format_block(message: Message, channel: ConsoleChannel) -> str:
    rendered = render(message, channel.templates)
    return f"{RULE}\n{rendered.subject}\n{RULE}\n{rendered.text.rstrip()}\n"


class ConsoleSender(Stateless):
    kind = "console"

    def __init__(self, channel: ConsoleChannel) -> None:
        self.channel = channel

    async def send(self, message: Message) -> None:
        block = format_block(message, self.channel)
        try:
            out = sys.stdout
            out.write(block + "\n")
            out.flush()
        except (OSError, ValueError) as exc:  # closed or broken stdout
            raise DeliveryError(f"cannot write to standard output: {exc}") from exc
