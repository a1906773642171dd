"""``monitor demo``: a fake ministry on 127.0.0.1 publishing a release every few seconds, a
temporary database, a console channel and two rules; the daemon runs until Ctrl-C so alerts
appear live. No internet and no config needed."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from monitor.config import load_config
from monitor.logsetup import setup_logging

CONFIG = """\
# The config `monitor demo` runs with (written to a temporary directory).
storage:
  path: {db}
fetch:
  robots: false
  delay: 0s
  timeout: 10s
  retries: 1
log:
  level: {level}
alerts:
  every: 1s
health:
  notify: [console]
sources:
  - name: demoland-mfa
    url: {site}/feed.xml
    type: feed
    language: en
    timezone: UTC
    every: {poll}s
rules:
  - name: climate-and-energy
    query: 'climate OR energy OR "power interconnector"'
    notify: [console]
  - name: sanctions
    keywords: [sanctions]
    notify: [console]
channels:
  - type: console
    name: console
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="watch a bundled demo press site and print alerts live")
    p.add_argument("--every", type=float, default=4.0, metavar="SECONDS",
                   help="a new demo release every SECONDS (default 4)")
    p.add_argument("--poll", type=int, default=2, metavar="SECONDS",
                   help="how often the daemon polls the demo feed (default 2)")
    p.add_argument("--duration", type=float, metavar="SECONDS",
                   help="stop by itself after SECONDS (default: run until Ctrl-C)")
    p.add_argument("--log-format", choices=("text", "json"), default="text")
    p.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default="info")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from monitor.demo import DemoSite

    site = DemoSite(every=max(0.5, args.every)).start()
    try:
        with tempfile.TemporaryDirectory(prefix="monitor-demo-") as tmp:
            path = Path(tmp) / "monitor.yaml"
            path.write_text(
                CONFIG.format(db=Path(tmp) / "demo.db", site=site.url, poll=max(1, args.poll),
                              level=args.log_level),
                encoding="utf-8",
            )
            config = load_config(path)
            setup_logging(config.log.level, args.log_format)
            print(
                f"demo site: {site.url}/ (a new release every {site.every:g}s)\n"
                f"config:    {path} (rules: climate-and-energy, sanctions → console)\n"
                "alerts appear below; press Ctrl-C to stop.\n",
                flush=True,
            )
            return asyncio.run(_run(config, str(path), args.duration, args.log_format))
    finally:
        site.stop()


async def _run(config: object, path: str, duration: float | None, log_format: str) -> int:
    from monitor.config import Config
    from monitor.scheduler import Daemon

    assert isinstance(config, Config)
    daemon = Daemon(config, path, log_format=log_format)
    if duration:
        asyncio.get_running_loop().call_later(duration, daemon.stop)
    return await daemon.run()
