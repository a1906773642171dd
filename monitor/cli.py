"""The ``monitor`` command line: parses arguments and hands over to a command module.

Each command lives in ``monitor/commands/<name>.py`` with a ``register(subparsers)`` function
that adds its parser and sets ``func`` (args -> exit code). Exit codes: 0 ok, 1 a failure at
run time, 2 a config or usage error.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from monitor import __version__
from monitor.errors import ConfigError, MonitorError

# The command modules, in the order ``monitor --help`` lists them.
COMMANDS = (
    "validate",
    "once",
    "run", "status", "demo",
    "preview",
    "extract",
    "export",
    "search",
    "test-alert",
    "alerts",
    "rules",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="monitor",
        description="Watch official press releases and get alerted when one matters to you.",
    )
    parser.add_argument("--version", action="version", version=f"monitor {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"monitor.commands.{name.replace('-', '_')}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print("config error:\n  " + "\n  ".join(exc.problems), file=sys.stderr)
        return 2
    except MonitorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
