"""``monitor once [-c FILE] [--source NAME ...]``: one pass over the sources, then send due alerts.

Exit 0 when every source succeeded, 1 when any failed (the others are still stored), 2 for a
config error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

from monitor.commands import add_config_arg, select_sources
from monitor.config import Config, SourceConfig, load_config

if TYPE_CHECKING:
    from monitor.pipeline import SourceReport


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("once", help="fetch every source once, store new articles, send alerts")
    add_config_arg(p)
    p.add_argument("--source", action="append", metavar="NAME", help="only this source (repeat)")
    p.add_argument("--no-send", action="store_true", help="store and queue alerts, send nothing")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from monitor.logsetup import setup_logging

    config = load_config(args.config)
    selected = select_sources(config, args.source)
    # each source's outcome is printed on stdout; logs only for what goes wrong beyond that
    setup_logging("error", config.log.format)
    reports = asyncio.run(_once(config, selected, send=not args.no_send))
    return 0 if all(r.ok for r in reports) else 1


async def _once(config: Config, selected: list[SourceConfig], *, send: bool) -> list[SourceReport]:
    from monitor.alerts.outbox import deliver_due
    from monitor.pipeline import open_context, run_source

    progress = sys.stderr.isatty() and len(selected) > 1
    done = 0
    reports: list[SourceReport] = []
    async with open_context(config) as ctx:
        sem = asyncio.Semaphore(config.fetch.concurrency)

        async def one(source: SourceConfig) -> SourceReport:
            nonlocal done
            async with sem:
                report = await run_source(ctx, source)
            done += 1
            if progress:
                print(f"\r\033[K[{done}/{len(selected)}] ", end="", file=sys.stderr, flush=True)
            print(report.line(), flush=True)
            return report

        reports = list(await asyncio.gather(*(one(s) for s in selected)))
        if progress:
            print("\r\033[K", end="", file=sys.stderr, flush=True)
        if send:
            delivery = await deliver_due(ctx.store, config)
            if delivery.total:
                print(f"alerts: {delivery.sent} sent, {delivery.retry} to retry, "
                      f"{delivery.dead} dead")
                for error in delivery.errors:
                    print(f"  {error}")
    return reports
