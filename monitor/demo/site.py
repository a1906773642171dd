"""A fake ministry site on 127.0.0.1: ``/feed.xml`` (RSS 2.0, full text), ``/releases/N.html``
and ``/`` (a listing). Release N appears ``N * every`` seconds after start; the texts are put
together from ``releases.json`` (package data) with a seeded random generator, so every release
is different and the same number always reads the same."""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

FEED_SIZE = 20


@dataclass(frozen=True)
class Release:
    number: int
    topic: str
    title: str
    paragraphs: tuple[str, ...]
    published: datetime

    @property
    def path(self) -> str:
        return f"/releases/{self.number}.html"


def _data() -> dict[str, Any]:
    text = resources.files("monitor.demo").joinpath("releases.json").read_text(encoding="utf-8")
    return dict(json.loads(text))


class DemoSite:
    """Start with ``start()``, stop with ``stop()``; ``url`` is the site's root."""

    def __init__(self, *, every: float = 4.0, backlog: int = 3, seed: int = 7) -> None:
        self.every = every
        self.backlog = backlog
        self.seed = seed
        self.data = _data()
        self.started = time.time()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ content

    def count(self, now: float | None = None) -> int:
        """How many releases are published at ``now``."""
        elapsed = (now or time.time()) - self.started
        return self.backlog + max(0, int(elapsed // self.every))

    def release(self, number: int) -> Release:
        rng = random.Random(self.seed * 100_003 + number)
        d = self.data
        topic = d["topics"][number % len(d["topics"])]
        fill = {
            "partner": rng.choice(d["partners"]),
            "official": rng.choice(d["officials"]),
            "city": rng.choice(d["cities"]),
            "n": rng.randint(2, 40),
        }
        title = topic["title"].format(**fill)
        title = title[0].upper() + title[1:]
        paragraphs = [topic["lead"].format(**fill)] + [p.format(**fill) for p in topic["body"]]
        paragraphs.append(
            f"Release No. {number} of the {d['ministry']}, issued in {fill['city']}."
        )
        published = datetime.fromtimestamp(self.started, UTC) + timedelta(
            seconds=(number - self.backlog) * self.every
        )
        return Release(number, topic["key"], title, tuple(paragraphs), published.replace(
            microsecond=0))

    def latest(self, n: int = FEED_SIZE) -> list[Release]:
        top = self.count()
        return [self.release(i) for i in range(top, max(0, top - n), -1)]

    def feed(self, base: str) -> str:
        items = []
        for r in self.latest():
            body = "".join(f"<p>{escape(p)}</p>" for p in r.paragraphs)
            items.append(
                "<item>"
                f"<title>{escape(r.title)}</title>"
                f"<link>{base}{r.path}</link>"
                f'<guid isPermaLink="true">{base}{r.path}</guid>'
                f"<pubDate>{format_datetime(r.published)}</pubDate>"
                f"<category>{r.topic}</category>"
                f"<description>{escape(r.paragraphs[0])}</description>"
                f"<content:encoded><![CDATA[{body}]]></content:encoded>"
                "</item>"
            )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
            f"<channel><title>{escape(self.data['ministry'])}: press releases</title>"
            f"<link>{base}/</link><description>Demo press releases</description>"
            f"<language>en</language>{''.join(items)}</channel></rss>"
        )

    def page(self, r: Release) -> str:
        body = "".join(f"<p>{escape(p)}</p>" for p in r.paragraphs)
        return (
            f"<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<title>{escape(r.title)} | Demoland MFA</title>"
            f'<meta property="article:published_time" content="{r.published.isoformat()}">'
            f"</head><body><header>Demoland</header><main><article>"
            f"<h1>{escape(r.title)}</h1><time datetime=\"{r.published.isoformat()}\">"
            f"{r.published:%d %B %Y %H:%M}</time>{body}</article></main></body></html>"
        )

    def index(self) -> str:
        links = "".join(
            f'<li><a href="{r.path}">{escape(r.title)}</a> <span>{r.published:%d.%m.%Y}</span></li>'
            for r in self.latest()
        )
        return (
            "<!doctype html><html lang=en><head><meta charset=utf-8><title>Demoland MFA</title>"
            '<link rel="alternate" type="application/rss+xml" href="/feed.xml"></head>'
            f"<body><h1>Press releases</h1><ul>{links}</ul></body></html>"
        )

    # ------------------------------------------------------------ server

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self, host: str = "127.0.0.1", port: int = 0) -> DemoSite:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()  # headers and body go out as two writes: no Nagle delay
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split("?", 1)[0]
                base = site.url
                if path == "/feed.xml":
                    tag = f'"{site.count()}"'
                    if self.headers.get("If-None-Match") == tag:
                        self._send(304, b"", "application/rss+xml", etag=tag)
                        return
                    self._send(200, site.feed(base).encode(), "application/rss+xml", etag=tag)
                elif path == "/" or path == "/index.html":
                    self._send(200, site.index().encode(), "text/html; charset=utf-8")
                elif path.startswith("/releases/") and path.endswith(".html"):
                    try:
                        number = int(path[len("/releases/"):-len(".html")])
                    except ValueError:
                        number = -1
                    if 0 < number <= site.count():
                        self._send(200, site.page(site.release(number)).encode(),
                                   "text/html; charset=utf-8")
                    else:
                        self._send(404, b"not found", "text/plain")
                elif path == "/robots.txt":
                    self._send(200, b"User-agent: *\nAllow: /\n", "text/plain")
                else:
                    self._send(404, b"not found", "text/plain")

            def _send(self, status: int, body: bytes, ctype: str, etag: str | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                if etag:
                    self.send_header("ETag", etag)
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.started = time.time()
        self._thread = threading.Thread(target=self._server.serve_forever, name="demo-site",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
