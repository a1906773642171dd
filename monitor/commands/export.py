"""``monitor export [-c FILE] --format jsonl|csv [--source NAME] [--since DATE]``."""

from __future__ import annotations

import argparse
import csv
import json
import sys

from monitor.commands import add_config_arg, open_store, parse_since
from monitor.config import load_config

FIELDS = (
    "id", "source", "url", "title", "published_at", "updated_at", "first_seen_at", "language",
    "author", "attribution", "credit", "category", "tags", "guid", "duplicate_of", "body",
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="write stored articles as JSON lines or CSV")
    add_config_arg(p)
    p.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    p.add_argument("--source", metavar="NAME")
    p.add_argument("--since", metavar="DATE", type=parse_since,
                   help="only articles published (or first seen) since DATE (2021-12-08, 7d)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    store = open_store(config)
    try:
        rows = ({f: getattr(a, f) for f in FIELDS}
                for a in store.articles(source=args.source, since=args.since))
        if args.format == "jsonl":
            for row in rows:
                row["tags"] = list(row["tags"])
                sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            writer = csv.DictWriter(sys.stdout, fieldnames=FIELDS)
            writer.writeheader()
            for row in rows:
                row["tags"] = ";".join(row["tags"])
                writer.writerow(row)
    finally:
        store.close()
    return 0
