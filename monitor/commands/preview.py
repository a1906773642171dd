"""``monitor preview [-c FILE] SOURCE``: fetch and extract one source without storing anything."""

from __future__ import annotations

import argparse
import asyncio
import textwrap

from monitor.commands import add_config_arg
from monitor.config import Config, SourceConfig, load_config
from monitor.errors import ConfigError, SourceError
from monitor.store import SourceState


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "preview", help="show what a source yields, without storing (tune selectors)"
    )
    add_config_arg(p)
    p.add_argument("source", metavar="SOURCE")
    p.add_argument("--limit", type=int, default=10, help="articles to show (default 10)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    try:
        source = config.source(args.source)
    except KeyError:
        raise ConfigError(f"no source named {args.source!r} in the config") from None
    return asyncio.run(_preview(config, source, args.limit))


async def _preview(config: Config, source: SourceConfig, limit: int) -> int:
    from monitor import sources
    from monitor.fetch import Fetcher
    from monitor.pipeline import choose_title, extract_item
    from monitor.workers import Extractor

    extractor = Extractor(workers=0)  # a preview extracts in-process

    failed = 0
    async with Fetcher(config.fetch, allowed_hosts=config.named_hosts()) as fetcher:
        try:
            listing = await sources.collect(source, fetcher, SourceState(source.name))
        except SourceError as exc:
            print(f"{source.name}: FAILED: {exc}")
            return 1
        print(f"{source.name}: {listing.kind or source.type}, {len(listing.items)} items, "
              f"{listing.pages} page(s)\n")
        for item in listing.items[:limit]:
            try:
                ex, _, _ = await extract_item(fetcher, extractor, source, item)
            except SourceError as exc:
                failed += 1
                print(f"- {item.url}\n  FAILED: {exc}\n")
                continue
            date = item.published_at or ex.published_at
            print(f"- {choose_title(source, item, ex) or '(no title)'}")
            print(f"  date: {date.isoformat() if date else '(none found)'}")
            print(f"  url:  {item.url}")
            for field in ("attribution", "credit", "author"):
                if getattr(ex, field):
                    print(f"  {field}: {getattr(ex, field)}")
            body = " ".join(ex.body.split())
            print(textwrap.indent(textwrap.fill(body[:300] or "(no text found)", 96), "  ") + "\n")
    return 1 if failed else 0
