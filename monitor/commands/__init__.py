"""One module per CLI command; see ``monitor.cli``."""

from __future__ import annotations

import argparse


def add_config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        help="config file (default: $MONITOR_CONFIG, then config/monitor.yaml)",
    )
