"""``monitor run [-c FILE] [--log-format text|json]``: the daemon, until SIGTERM or Ctrl-C.

SIGHUP reloads the config (an invalid one is refused and the running one kept).
"""

from __future__ import annotations

import argparse
import asyncio

from monitor.commands import add_config_arg
from monitor.config import load_config, resolve_path
from monitor.logsetup import config_secrets, register_secrets, setup_logging


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the daemon: fetch on schedule, alert, serve metrics")
    add_config_arg(p)
    p.add_argument(
        "--log-format", choices=("text", "json"),
        help="log lines as text or JSON (default: log.format)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    register_secrets(config_secrets(config))
    setup_logging(config.log.level, args.log_format or config.log.format)
    from monitor.scheduler import Daemon

    daemon = Daemon(config, resolve_path(args.config), log_format=args.log_format)
    return asyncio.run(daemon.run())
