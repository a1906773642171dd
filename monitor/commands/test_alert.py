"""``monitor test-alert [-c FILE] CHANNEL``: send a sample alert through a channel, now.

The alert goes straight to the channel (not through the outbox). Exit 0 when the channel
accepted it, 1 with the reason when it did not, 2 when there is no such channel.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from monitor.commands import add_config_arg
from monitor.config import load_config
from monitor.errors import DeliveryError, PermanentDeliveryError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("test-alert", help="send a sample alert through a channel and report")
    add_config_arg(p)
    p.add_argument("channel", metavar="CHANNEL", help="the name of a configured channel")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from monitor.alerts import sample_message, send_now

    config = load_config(args.config)
    try:
        channel = config.channel(args.channel)
    except KeyError:
        names = ", ".join(c.name for c in config.channels) or "none configured"
        print(f"no channel named {args.channel!r} (channels: {names})", file=sys.stderr)
        return 2
    message = sample_message(channel.name)
    try:
        asyncio.run(send_now(channel, message))
    except DeliveryError as exc:
        kind = "permanent" if isinstance(exc, PermanentDeliveryError) else "temporary"
        print(f"{channel.name} ({channel.type}): failed ({kind}): {exc}", file=sys.stderr)
        return 1
    print(f"{channel.name} ({channel.type}): sent test alert {message.id}")
    return 0
