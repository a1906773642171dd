"""``monitor validate [-c FILE]``: check a config; exit 0 when valid, 2 when not."""

from __future__ import annotations

import argparse

from monitor.commands import add_config_arg
from monitor.config import load_config, resolve_path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check a config file and report every problem")
    add_config_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    print(
        f"{resolve_path(args.config)}: ok ({len(config.sources)} sources, "
        f"{len(config.rules)} rules, {len(config.channels)} channels)"
    )
    return 0
