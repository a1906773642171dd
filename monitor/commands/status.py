"""``monitor status [-c FILE] [--json]``: each source's health, schedule and counts; the outbox.

Reads the database the daemon writes (WAL: never blocks it). Secrets are never printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from monitor.commands import add_config_arg, open_store
from monitor.config import Config, load_config
from monitor.health import assess
from monitor.logsetup import config_secrets, redact, register_secrets
from monitor.timeutil import parse_iso, utcnow


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("status", help="show each source's health and the alert outbox")
    add_config_arg(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


@dataclass(frozen=True)
class SourceStatus:
    source: str
    state: str
    last_success: str | None
    last_run: str | None
    last_error: str | None
    failures: int
    next_run: str | None
    articles: int
    articles_24h: int
    last_new: str | None


def collect(config: Config, now: datetime | None = None) -> dict[str, Any]:
    """Everything ``status`` shows, as plain data."""
    now = now or utcnow()
    register_secrets(config_secrets(config))
    store = open_store(config)
    try:
        sources = []
        for source in config.sources:
            state = store.source_state(source.name)
            live = assess(state, source, config.health, now)
            total, recent = store.source_counts(source.name, now - timedelta(days=1))
            sources.append(
                SourceStatus(
                    source=source.name,
                    state=live if state.last_run_at else "new",
                    last_success=state.last_success_at,
                    last_run=state.last_run_at,
                    last_error=redact(state.last_error) if state.last_error else None,
                    failures=state.failures,
                    next_run=state.next_due_at,
                    articles=total,
                    articles_24h=recent,
                    last_new=state.last_new_at,
                )
            )
        counts = store.alert_counts()
    finally:
        store.close()
    channels = [c.name for c in config.channels]
    channels += sorted(set(counts) - set(channels))
    deliveries = [
        {"channel": c, **{k: counts.get(c, {}).get(k, 0) for k in ("pending", "sent", "dead")}}
        for c in channels
    ]
    return {"generated_at": now.isoformat(timespec="seconds"),
            "sources": [asdict(s) for s in sources], "deliveries": deliveries}


def ago(text: str | None, now: datetime) -> str:
    """``2026-11-28T00:01:00+00:00`` → ``3m ago`` / ``in 12s``; ``-`` for nothing."""
    when = parse_iso(text)
    if when is None:
        return "-"
    seconds = (now - when).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            amount = f"{int(seconds // size)}{unit}"
            break
    else:
        amount = f"{int(seconds)}s"
    return f"in {amount}" if future else f"{amount} ago"


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def render(data: dict[str, Any], now: datetime, width: int = 100) -> str:
    rows = [["SOURCE", "STATE", "LAST SUCCESS", "FAILS", "NEXT RUN", "ARTICLES", "24H",
             "LAST ERROR"]]
    for s in data["sources"]:
        error = (s["last_error"] or "-") if s["failures"] else "-"
        rows.append([
            s["source"], s["state"], ago(s["last_success"], now), str(s["failures"]),
            ago(s["next_run"], now), str(s["articles"]), str(s["articles_24h"]), error,
        ])
    out = table(rows) if data["sources"] else "no sources in the config"
    lines = [line if len(line) <= width else line[: width - 1] + "…" for line in out.splitlines()]
    out = "\n".join(lines)
    if data["deliveries"]:
        d_rows = [["CHANNEL", "PENDING", "SENT", "DEAD"]]
        d_rows += [[d["channel"], str(d["pending"]), str(d["sent"]), str(d["dead"])]
                   for d in data["deliveries"]]
        out += "\n\n" + table(d_rows)
    return out


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    now = utcnow()
    data = collect(config, now)
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    import shutil

    width = shutil.get_terminal_size((120, 24)).columns if sys.stdout.isatty() else 200
    print(render(data, now, width))
    return 0
