"""``monitor extract [FILE|URL ...] [--url URL] [--jsonl]``: what the extractor makes of pages.

A FILE is a saved page (decoded like a fetched one: BOM, ``<meta charset>``, detection);
``--url`` gives its address (for relative links and dates in the URL). A URL is fetched with
the default fetch settings (robots.txt honoured). Exit 1 when any input failed; the others
are still printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from monitor.encoding import decode_html, decode_result
from monitor.errors import MonitorError
from monitor.extract import extract_article
from monitor.models import Extracted

_FIELDS = ("title", "published_at", "updated_at", "language", "author", "attribution", "credit",
           "category", "tags")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "extract",
        help="extract title, dates, language, fields and body from saved pages or URLs",
        description="Extract articles from saved pages (FILE) or fetched pages (URL).",
    )
    p.add_argument("inputs", nargs="+", metavar="FILE|URL", help="saved page or http(s) URL")
    p.add_argument("--url", metavar="URL", help="the page URL of a FILE (links, URL dates)")
    p.add_argument("--language", metavar="CODE", help="the page language (skip detection)")
    p.add_argument("--timezone", default="UTC", help="zone of dates without one (default UTC)")
    p.add_argument("--jsonl", action="store_true", help="one JSON object per line")
    p.set_defaults(func=run)


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def as_record(origin: dict[str, str], result: Extracted) -> dict[str, Any]:
    """The JSON form of one extraction, with the ``file`` or ``url`` it came from."""
    return {
        **origin,
        "title": result.title,
        "published_at": _iso(result.published_at),
        "updated_at": _iso(result.updated_at),
        "language": result.language,
        "author": result.author,
        "attribution": result.attribution,
        "credit": result.credit,
        "category": result.category,
        "tags": list(result.tags),
        "body": result.body,
    }


def _print_readable(record: dict[str, Any]) -> None:
    origin = record.get("file") or record.get("url")
    print(f"== {origin}")
    for key in _FIELDS:
        value = record.get(key)
        if isinstance(value, list):
            value = ", ".join(value)
        if value:
            print(f"{key}: {value}")
    print()
    print(record.get("body") or "(no body)")
    print()


async def _fetch_all(urls: Sequence[str]) -> dict[str, tuple[str, str] | MonitorError]:
    from monitor.config import FetchConfig
    from monitor.fetch import Fetcher

    out: dict[str, tuple[str, str] | MonitorError] = {}
    async with Fetcher(FetchConfig()) as fetcher:
        for url in urls:
            try:
                result = await fetcher.get(url)
                out[url] = (decode_result(result), result.url)
            except MonitorError as exc:
                out[url] = exc
    return out


def run(args: argparse.Namespace) -> int:
    urls = [value for value in args.inputs if _is_url(value)]
    fetched = asyncio.run(_fetch_all(urls)) if urls else {}
    failed = False
    for value in args.inputs:
        origin = {"url": value} if _is_url(value) else {"file": value}
        try:
            if _is_url(value):
                got = fetched[value]
                if isinstance(got, MonitorError):
                    raise got
                html, page_url = got
            else:
                html = decode_html(Path(value).read_bytes())
                page_url = args.url or Path(value).resolve().as_uri()
            result = extract_article(
                html, page_url, language=args.language, timezone=args.timezone
            )
        except (OSError, MonitorError) as exc:
            failed = True
            print(f"error: {value}: {exc}", file=sys.stderr)
            if args.jsonl:
                print(json.dumps({**origin, "error": str(exc)}, ensure_ascii=False))
            continue
        missing = [name for name, ok in (("title", result.title), ("body", result.body)) if not ok]
        if missing:
            failed = True
            print(f"error: {value}: no {' and no '.join(missing)} found", file=sys.stderr)
        record = as_record(origin, result)
        if args.jsonl:
            print(json.dumps(record, ensure_ascii=False))
        else:
            _print_readable(record)
    return 1 if failed else 0
