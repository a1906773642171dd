"""One module per CLI command; see ``monitor.cli``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from monitor.config import Config, SourceConfig, parse_duration
from monitor.errors import ConfigError
from monitor.store import Store


def add_config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        help="config file (default: $MONITOR_CONFIG, then config/monitor.yaml)",
    )


def select_sources(config: Config, names: Sequence[str] | None) -> list[SourceConfig]:
    """The sources named on the command line (all when none); unknown names are a config error."""
    if not names:
        return list(config.sources)
    known = {s.name: s for s in config.sources}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(f"no source named {', '.join(map(repr, unknown))} in the config")
    return [known[n] for n in names]


def open_store(config: Config) -> Store:
    return Store.open(config.storage.path)


def parse_since(text: str) -> datetime:
    """``2021-12-08``, an ISO timestamp, or a duration back from now (``7d``, ``12h``)."""

    try:
        dt = datetime.fromisoformat(text)
        return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    except ValueError:
        pass
    try:
        return datetime.now(UTC) - timedelta(seconds=parse_duration(text))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date (2021-12-08) or a duration (7d)"
        ) from None
