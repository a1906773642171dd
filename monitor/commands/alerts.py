"""``monitor alerts [-c FILE] [--status pending|sent|dead] [--json]``: list alert deliveries."""

from __future__ import annotations

import argparse
import json
from typing import Any

from monitor.commands import add_config_arg
from monitor.config import load_config

COLUMNS = ("id", "kind", "rule", "channel", "status", "attempts", "last_error", "created", "when")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("alerts", help="list alert deliveries: pending, sent and dead")
    add_config_arg(p)
    p.add_argument("--status", choices=("pending", "sent", "dead"), help="only this status")
    p.add_argument("--limit", type=int, default=100, help="at most this many rows (default 100)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def rows(store: Any, status: str | None, limit: int) -> list[dict[str, Any]]:
    out = []
    for a in store.alerts(status, limit=limit):
        out.append(
            {
                "id": a.id,
                "kind": a.kind,
                "rule": a.rule,
                "channel": a.channel,
                "status": a.status,
                "attempts": a.attempts,
                "last_error": a.last_error,
                "created": a.created_at,
                "due": a.due_at if a.status == "pending" else None,
                "sent": a.sent_at,
                "article_id": a.article_id,
                "story_id": a.story_id,
            }
        )
    return out


def _cell(value: Any, width: int) -> str:
    text = "" if value is None else " ".join(str(value).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def table(items: list[dict[str, Any]]) -> str:
    widths = {"id": 12, "kind": 6, "rule": 16, "channel": 12, "status": 7, "attempts": 8,
              "last_error": 40, "created": 19, "when": 19}
    head = "  ".join(c.upper().replace("_", " ").ljust(widths[c]) for c in COLUMNS)
    lines = [head.rstrip()]
    for it in items:
        cells = dict(it)
        when = {"sent": it["sent"], "pending": it["due"]}.get(it["status"])
        cells["when"] = (when or "")[:19].replace("T", " ")
        cells["created"] = (it["created"] or "")[:19].replace("T", " ")
        line = "  ".join(_cell(cells[c], widths[c]).ljust(widths[c]) for c in COLUMNS)
        lines.append(line.rstrip())
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from monitor.store import Store

    config = load_config(args.config)
    store = Store.open(config.storage.path)
    try:
        items = rows(store, args.status, args.limit)
        counts = store.alert_counts()
    finally:
        store.close()
    if args.json:
        print(json.dumps(items, ensure_ascii=False, indent=2))
        return 0
    if not items:
        print("no alerts" + (f" with status {args.status}" if args.status else ""))
    else:
        print(table(items))
    totals = {s: sum(c[s] for c in counts.values()) for s in ("pending", "sent", "dead")}
    print(f"\n{totals['pending']} pending, {totals['sent']} sent, {totals['dead']} dead"
          + "".join(f"\n  {ch}: {c['pending']} pending, {c['sent']} sent, {c['dead']} dead"
                    for ch, c in sorted(counts.items())))
    return 0
