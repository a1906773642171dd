"""``monitor search [-c FILE] QUERY [--limit N] [--json]``: full-text search, newest first."""

from __future__ import annotations

import argparse
import json
import re

from monitor.commands import add_config_arg, open_store
from monitor.config import load_config
from monitor.errors import StorageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search", help="full-text search over stored articles")
    add_config_arg(p)
    p.add_argument("query", metavar="QUERY",
                   help='words (all must appear), "a phrase", OR, NOT, prefix*')
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=run)


def fts_query(text: str) -> str:
    """Quote every bare word so punctuation (CIS-related, U.S.) is not FTS5 syntax."""
    out = []
    for token in re.findall(r'"[^"]*"|\S+', text):
        if token.startswith('"') or token in ("AND", "OR", "NOT"):
            out.append(token)
        elif token.endswith("*") and re.fullmatch(r"\w+\*", token):
            out.append(token)
        else:
            out.append('"' + token.replace('"', "") + '"')
    return " ".join(out)


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    store = open_store(config)
    try:
        try:
            hits = store.search(args.query, args.limit)
        except StorageError:
            hits = store.search(fts_query(args.query), args.limit)
    finally:
        store.close()
    for a in hits:
        if args.json:
            print(json.dumps({"id": a.id, "source": a.source, "title": a.title,
                              "published_at": a.published_at, "first_seen_at": a.first_seen_at,
                              "url": a.url}, ensure_ascii=False))
        else:
            date = (a.published_at or a.first_seen_at or "")[:16].replace("T", " ")
            print(f"{date}  [{a.source}] {a.title}\n{' ' * 18}{a.url}")
    if not hits and not args.json:
        print("no matches")
    return 0
