"""Fixture web sites served on 127.0.0.1, for tests that need real HTTP.

``serve_site(directory) -> base_url`` serves a directory of files (tests/fixtures/sites/<site>/):

* a path maps to a file; a directory to its ``index.html``; the query string is ignored unless
  ``_routes.json`` names the exact target (``"/news/?PAGEN_1=2": {"file": "news/page2.html"}``);
  a route may also set ``status``, ``content_type`` and ``headers``;
* content types come from the extension (``.html`` is ``text/html`` without a charset, ``.rss``
  ``application/rss+xml``, ``.atom`` ``application/atom+xml``, ``.gz`` ``application/gzip``);
* ``@BASE@`` in text files is replaced by the base URL (``http://127.0.0.1:PORT``), for absolute
  links in feeds and sitemaps;
* every answer carries an ``ETag`` and a ``Last-Modified``; ``If-None-Match`` /
  ``If-Modified-Since`` give a 304;
* without a ``robots.txt`` file, a permissive one is served.

Use the ``serve_site`` fixture (import it into a test module or a conftest)::

    from sites import serve_site  # noqa: F401

    def test_x(serve_site):
        base = serve_site(FIXTURES / "sites" / "mid")
        ...
        assert serve_site.requests(base)[-1].path == "/ru/rss.php"

or ``SiteServer(directory)`` as a context manager outside pytest.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

TYPES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".xml": "application/xml",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".rdf": "application/rdf+xml",
    ".json": "application/json",
    ".txt": "text/plain",
    ".gz": "application/gzip",
    ".php": "text/html",
}
TEXT_TYPES = ("text/", "application/xml", "application/rss", "application/atom",
              "application/rdf", "application/json")
LAST_MODIFIED = 1638966000  # 2021-12-08 12:20 UTC, for every file
ROBOTS = b"User-agent: *\nAllow: /\n"


@dataclass(frozen=True)
class Request:
    """One request the server saw."""

    path: str  # with the query string
    headers: dict[str, str]  # lower-case names


class SiteServer:
    """One directory served on 127.0.0.1 on a free port, in a thread."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory).resolve()
        routes_file = self.directory / "_routes.json"
        self.routes: dict[str, dict[str, Any]] = (
            json.loads(routes_file.read_text("utf-8")) if routes_file.exists() else {}
        )
        self.requests: list[Request] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SiteServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -------------------------------------------------------------- answers

    def answer(self, target: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        self.requests.append(Request(target, headers))
        route = self.routes.get(target) or self.routes.get(urlsplit(target).path) or {}
        status = int(route.get("status", 200))
        path = route.get("file") or unquote(urlsplit(target).path).lstrip("/")
        file = (self.directory / path).resolve()
        if file.is_dir():
            file = file / "index.html"
        if self.directory not in file.parents or not file.is_file():
            if path == "robots.txt":
                return 200, {"content-type": "text/plain"}, ROBOTS
            return 404, {"content-type": "text/plain"}, b"not found"
        content_type = route.get("content_type") or TYPES.get(file.suffix, "text/plain")
        body = file.read_bytes()
        if content_type.startswith(TEXT_TYPES):
            body = body.replace(b"@BASE@", self.url.encode("ascii"))
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        out = {
            "content-type": content_type,
            "etag": etag,
            "last-modified": formatdate(LAST_MODIFIED, usegmt=True),
            **route.get("headers", {}),
        }
        if status == 200 and _not_modified(headers, etag):
            return 304, {"etag": etag, "last-modified": out["last-modified"]}, b""
        return status, out, body

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, out, body = server.answer(self.path, headers)
                self.send_response(status)
                for name, value in out.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        return Handler


def _not_modified(headers: dict[str, str], etag: str) -> bool:
    if "if-none-match" in headers:
        return etag in [t.strip() for t in headers["if-none-match"].split(",")] or (
            headers["if-none-match"].strip() == "*"
        )
    if "if-modified-since" in headers:
        try:
            since = parsedate_to_datetime(headers["if-modified-since"]).timestamp()
        except (TypeError, ValueError):
            return False
        return since >= LAST_MODIFIED
    return False


class SiteServers:
    """Several sites for one test: ``servers(directory) -> base_url``; closed at the end."""

    def __init__(self) -> None:
        self._servers: dict[str, SiteServer] = {}

    def __call__(self, directory: str | Path) -> str:
        server = SiteServer(directory)
        self._servers[server.url] = server
        return server.url

    def requests(self, base_url: str) -> list[Request]:
        return self._servers[base_url].requests

    def close(self) -> None:
        for server in self._servers.values():
            server.close()
        self._servers.clear()


@pytest.fixture
def serve_site() -> Iterator[SiteServers]:
    """``serve_site(directory) -> base_url``; ``serve_site.requests(base_url)``."""
    servers = SiteServers()
    try:
        yield servers
    finally:
        servers.close()
