"""Fetcher against real HTTP servers on 127.0.0.1 (a threaded http.server we drive per path)."""

from __future__ import annotations

import asyncio
import base64
import functools
import gzip
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Coroutine
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from httpx_aiohttp import AiohttpTransport

from monitor.config import FetchConfig
from monitor.encoding import decode_result
from monitor.errors import (
    BlockedURLError,
    FetchError,
    HTTPStatusError,
    TimeoutError_,
    TooLargeError,
    TooManyRedirects,
    TransportError,
)
from monitor.fetch import Fetcher, default_transport, parse_retry_after
from monitor.models import Validators
from monitor.robots import Robots

PAGES = Path(__file__).parent / "fixtures" / "fetch"
T = TypeVar("T")

# ------------------------------------------------------------------ a local server


class Reply:
    """What a route answers: status, headers, body (bytes, or a callable writing it)."""

    def __init__(
        self,
        status: int = 200,
        body: bytes | Callable[[BaseHTTPRequestHandler], None] = b"",
        headers: dict[str, str] | None = None,
        *,
        length: bool = True,
    ) -> None:
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.length = length


Route = Callable[["Handler"], Reply | None]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        srv = self.server
        with srv.lock:
            headers = {k.lower(): v for k, v in self.headers.items()}
            srv.log.append((self.path, headers, time.monotonic()))
            srv.active += 1
            srv.peak = max(srv.peak, srv.active)
        try:
            route = srv.routes.get(self.path.split("?", 1)[0])
            reply = route(self) if route else Reply(404, b"not found")
            if reply is not None:
                self._send(reply)
        finally:
            with srv.lock:
                srv.active -= 1

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if callable(reply.body):
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            reply.body(self)
            return
        if reply.length:
            self.send_header("Content-Length", str(len(reply.body)))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.routes: dict[str, Route] = {}
        self.log: list[tuple[str, dict[str, str], float]] = []
        self.lock = threading.Lock()
        self.release = threading.Event()  # set at teardown: hanging routes return
        self.active = 0
        self.peak = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def hits(self, path: str) -> int:
        return sum(1 for p, _, _ in self.log if p.split("?", 1)[0] == path)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up on a hanging or huge answer is expected here


@pytest.fixture
def server():
    srv = Server()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield srv
    srv.release.set()
    srv.shutdown()
    thread.join()
    srv.server_close()


TRANSPORTS = {"aiohttp": default_transport, "httpx": httpx.AsyncHTTPTransport}


@pytest.fixture(params=sorted(TRANSPORTS))
def transport(request: pytest.FixtureRequest) -> str:
    """Each test runs with the default (aiohttp) transport and with httpx's own."""
    return str(request.param)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def config(**changes: Any) -> FetchConfig:
    values: dict[str, Any] = {"robots": False, "timeout": 3, "retries": 3}
    values.update(changes)
    return FetchConfig(**values)


def fetcher(transport: str, cfg: FetchConfig | None = None, **kwargs: Any) -> Fetcher:
    kwargs.setdefault("backoff_base", 0.01)
    return Fetcher(cfg or config(), transport=TRANSPORTS[transport](), **kwargs)


async def fetch(transport: str, url: str, cfg: FetchConfig | None = None, **kwargs: Any):
    get_kwargs = {
        k: kwargs.pop(k) for k in ("validators", "discovered", "source", "headers") if k in kwargs
    }
    async with fetcher(transport, cfg, **kwargs) as f:
        return await f.get(url, **get_kwargs)


def static(status: int = 200, body: bytes = b"", **headers: str) -> Route:
    hdrs = {k.replace("_", "-"): v for k, v in headers.items()}
    return lambda h: Reply(status, body, hdrs)


def sequence(*replies: Reply) -> Route:
    """Answer with each reply in turn, then keep repeating the last one."""
    queue = list(replies)

    def route(h: Handler) -> Reply:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return route


# ------------------------------------------------------------------ basics


def test_default_transport_is_aiohttp() -> None:
    assert isinstance(default_transport(), AiohttpTransport)


def test_plain_get(server: Server, transport: str) -> None:
    server.routes["/news"] = static(200, b"<p>hello</p>", Content_Type="text/html", X_Thing="A")
    result = run(fetch(transport, server.url("/news"), source="gov"))
    assert result.status == 200
    assert result.content == b"<p>hello</p>"
    assert result.url == server.url("/news")
    assert result.headers["content-type"] == "text/html"
    assert result.headers["x-thing"] == "A"
    assert all(name == name.lower() for name in result.headers)
    assert not result.not_modified
    sent = server.log[0][1]
    assert sent["user-agent"] == FetchConfig().user_agent
    assert "monitor" in sent["user-agent"]


def test_caller_headers_are_sent(server: Server, transport: str) -> None:
    server.routes["/h"] = static(200, b"ok")
    run(fetch(transport, server.url("/h"), headers={"Accept-Language": "ru"}))
    assert server.log[0][1]["accept-language"] == "ru"


@pytest.mark.parametrize("url", ["ftp://example.org/file", "file:///etc/passwd", "example.org/x"])
def test_only_http_and_https(url: str) -> None:
    with pytest.raises(BlockedURLError) as info:
        run(fetch("aiohttp", url, source="s"))
    assert "http(s)" in str(info.value)
    assert info.value.source == "s"
    assert info.value.url == url


# ------------------------------------------------------------------ conditional GET


def test_etag_round_trip(server: Server, transport: str) -> None:
    def route(h: Handler) -> Reply:
        if h.headers.get("If-None-Match") == '"v1"':
            return Reply(304, b"", {"ETag": '"v1"'})
        return Reply(200, b"<rss/>", {"ETag": '"v1"'})

    server.routes["/feed"] = route

    async def go():
        async with fetcher(transport) as f:
            first = await f.get(server.url("/feed"))
            second = await f.get(server.url("/feed"), validators=first.validators)
            return first, second

    first, second = run(go())
    assert first.status == 200 and first.validators.etag == '"v1"'
    assert second.not_modified and second.status == 304
    assert second.content == b""
    assert server.log[1][1]["if-none-match"] == '"v1"'


def test_last_modified_round_trip(server: Server, transport: str) -> None:
    stamp = "Wed, 08 Dec 2021 14:35:00 GMT"

    def route(h: Handler) -> Reply:
        if h.headers.get("If-Modified-Since") == stamp:
            return Reply(304)
        return Reply(200, b"<html/>", {"Last-Modified": stamp})

    server.routes["/list"] = route
    first = run(fetch(transport, server.url("/list")))
    assert first.validators == Validators(None, stamp)
    second = run(fetch(transport, server.url("/list"), validators=first.validators))
    assert second.not_modified
    assert "if-none-match" not in server.log[1][1]


# ------------------------------------------------------------------ retries


def test_429_with_retry_after_then_200(server: Server, transport: str) -> None:
    server.routes["/api"] = sequence(Reply(429, b"", {"Retry-After": "1"}), Reply(200, b"[]"))
    started = time.monotonic()
    result = run(fetch(transport, server.url("/api")))
    assert result.content == b"[]"
    assert server.hits("/api") == 2
    gap = server.log[1][2] - server.log[0][2]
    assert gap >= 0.9  # Retry-After honoured, not the 0.01 s backoff
    assert time.monotonic() - started < 3


def test_retry_after_as_http_date(server: Server, transport: str) -> None:
    when = formatdate(time.time() + 1, usegmt=True)
    server.routes["/api"] = sequence(Reply(503, b"", {"Retry-After": when}), Reply(200, b"ok"))
    assert run(fetch(transport, server.url("/api"))).content == b"ok"
    assert server.hits("/api") == 2


def test_retry_after_longer_than_cap_fails_clearly(server: Server, transport: str) -> None:
    server.routes["/api"] = static(429, b"", Retry_After="120")
    with pytest.raises(HTTPStatusError) as info:
        run(fetch(transport, server.url("/api"), source="agency"))
    assert info.value.status == 429
    assert "120s" in str(info.value) and "60s" in str(info.value)
    assert info.value.source == "agency"
    assert server.hits("/api") == 1


def test_503_then_200(server: Server, transport: str) -> None:
    server.routes["/x"] = sequence(Reply(503), Reply(502), Reply(200, b"fine"))
    assert run(fetch(transport, server.url("/x"))).content == b"fine"
    assert server.hits("/x") == 3


def test_503_forever_fails_after_retries(server: Server, transport: str) -> None:
    server.routes["/x"] = static(503, b"down")
    with pytest.raises(HTTPStatusError) as info:
        run(fetch(transport, server.url("/x"), config(retries=3), source="s"))
    assert info.value.status == 503
    assert info.value.message == "HTTP 503 after 4 attempts"
    assert str(info.value) == f"HTTP 503 after 4 attempts ({server.url('/x')})"
    assert info.value.url == server.url("/x")
    assert server.hits("/x") == 4


def test_no_retries_configured(server: Server, transport: str) -> None:
    server.routes["/x"] = static(500)
    with pytest.raises(HTTPStatusError, match=r"^HTTP 500 \("):
        run(fetch(transport, server.url("/x"), config(retries=0)))
    assert server.hits("/x") == 1


@pytest.mark.parametrize("status", [403, 404, 410])
def test_4xx_fails_at_once(server: Server, transport: str, status: int) -> None:
    server.routes["/gone"] = static(status)
    with pytest.raises(HTTPStatusError) as info:
        run(fetch(transport, server.url("/gone")))
    assert info.value.status == status
    assert server.hits("/gone") == 1


def test_backoff_grows_with_full_jitter() -> None:
    f = Fetcher(config(), backoff_base=0.5)
    try:
        waits = [f._backoff(4) for _ in range(200)]
        assert all(0 <= w <= 4.0 for w in waits)
        assert max(waits) > 2.0 and min(waits) < 2.0  # spread over the whole range
        assert max(f._backoff(30) for _ in range(50)) <= 60
    finally:
        run(f.aclose())


def test_parse_retry_after() -> None:
    assert parse_retry_after("7") == 7
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    future = formatdate(time.time() + 30, usegmt=True)
    assert 28 <= (parse_retry_after(future) or 0) <= 31


def test_connection_refused_is_retried_then_transport_error(transport: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    with pytest.raises(TransportError) as info:
        run(fetch(transport, url, config(retries=2), source="s"))
    assert "connection failed" in str(info.value)
    assert "(3 attempts)" in str(info.value)
    assert info.value.url == url


# ------------------------------------------------------------------ deadlines and size


def test_hanging_server_times_out_quickly(server: Server, transport: str) -> None:
    def hang(h: Handler) -> None:
        server.release.wait(10)

    server.routes["/hang"] = hang
    started = time.monotonic()
    with pytest.raises(TimeoutError_) as info:
        run(fetch(transport, server.url("/hang"), config(timeout=0.5, retries=1), source="s"))
    elapsed = time.monotonic() - started
    assert str(info.value).startswith("timed out after 0.5s (2 attempts)")
    assert 1.0 <= elapsed < 2.5
    assert server.hits("/hang") == 2


def test_trickling_body_hits_the_total_deadline(server: Server, transport: str) -> None:
    """Each read arrives well within the timeout; the whole answer does not."""

    def trickle(h: BaseHTTPRequestHandler) -> None:
        for _ in range(100):
            if server.release.wait(0.1):
                return
            h.wfile.write(b"x" * 10)
            h.wfile.flush()

    server.routes["/slow"] = lambda h: Reply(200, trickle)
    started = time.monotonic()
    with pytest.raises(TimeoutError_):
        run(fetch(transport, server.url("/slow"), config(timeout=0.6, retries=0)))
    assert time.monotonic() - started < 1.5


@functools.cache
def bomb() -> bytes:
    return gzip.compress(b"\0" * 30_000_000, compresslevel=9)  # 30 KB that inflate to 30 MB


def test_gzip_bomb_stops_at_the_cap(server: Server, transport: str) -> None:
    assert len(bomb()) < 50_000
    server.routes["/bomb"] = static(200, bomb(), Content_Encoding="gzip")
    tracemalloc.start()
    try:
        with pytest.raises(TooLargeError) as info:
            run(fetch(transport, server.url("/bomb"), config(max_bytes=1_000_000), source="s"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.message == "body larger than 1 MB"
    assert info.value.source == "s"
    # decoded in bounded steps: memory stays near the cap, far below the 30 MB inflated
    assert peak < 6_000_000


def test_gzip_under_the_cap_is_decoded(server: Server, transport: str) -> None:
    text = "<p>Новости</p>".encode() * 1000
    server.routes["/gz"] = static(200, gzip.compress(text), Content_Encoding="gzip")
    result = run(fetch(transport, server.url("/gz"), config(max_bytes=len(text))))
    assert result.content == text
    # the client only offers codings it can decode within the cap
    assert server.log[0][1]["accept-encoding"] == "gzip, deflate"


@pytest.mark.parametrize("raw", [False, True])
def test_deflate_zlib_and_raw(server: Server, transport: str, raw: bool) -> None:
    text = b"<p>deflated</p>" * 500
    if raw:
        c = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        body = c.compress(text) + c.flush()
    else:
        body = zlib.compress(text)
    server.routes["/d"] = static(200, body, Content_Encoding="deflate")
    assert run(fetch(transport, server.url("/d"))).content == text


def test_deflate_bomb_stops_at_the_cap(server: Server, transport: str) -> None:
    server.routes["/d"] = static(200, zlib.compress(b"a" * 20_000_000), Content_Encoding="deflate")
    with pytest.raises(TooLargeError):
        run(fetch(transport, server.url("/d"), config(max_bytes=100_000)))


def test_corrupt_gzip_is_a_transport_error(server: Server, transport: str) -> None:
    server.routes["/bad"] = static(200, b"this is not gzip at all", Content_Encoding="gzip")
    with pytest.raises(TransportError, match="decode"):
        run(fetch(transport, server.url("/bad")))


@pytest.mark.parametrize("length", [True, False])
def test_large_plain_body(server: Server, transport: str, length: bool) -> None:
    server.routes["/big"] = lambda h: Reply(200, b"y" * 300_000, length=length)
    with pytest.raises(TooLargeError, match="body larger than 200 KB"):
        run(fetch(transport, server.url("/big"), config(max_bytes=200_000)))
    ok = run(fetch(transport, server.url("/big"), config(max_bytes=300_000)))
    assert len(ok.content) == 300_000


# ------------------------------------------------------------------ redirects


def redirect(to: str, status: int = 302) -> Route:
    return static(status, b"", Location=to)


def test_redirects_are_followed_and_url_is_final(server: Server, transport: str) -> None:
    server.routes["/old"] = redirect("/mid", 301)
    server.routes["/mid"] = redirect(server.url("/new"), 308)
    server.routes["/new"] = static(200, b"here")
    result = run(fetch(transport, server.url("/old")))
    assert result.content == b"here"
    assert result.url == server.url("/new")


def test_five_redirects_are_fine_six_are_not(server: Server, transport: str) -> None:
    for i in range(1, 8):
        server.routes[f"/r{i}"] = redirect(f"/r{i + 1}")
    server.routes["/r6"] = static(200, b"end")
    assert run(fetch(transport, server.url("/r1"))).url == server.url("/r6")
    server.routes["/r6"] = redirect("/r7")
    server.routes["/r7"] = static(200, b"end")
    with pytest.raises(TooManyRedirects, match="more than 5 redirects") as info:
        run(fetch(transport, server.url("/r1"), source="s"))
    assert info.value.url == server.url("/r1")


def test_redirect_loop(server: Server, transport: str) -> None:
    server.routes["/a"] = redirect("/b")
    server.routes["/b"] = redirect("/a")
    with pytest.raises(TooManyRedirects) as info:
        run(fetch(transport, server.url("/a"), source="s"))
    assert info.value.message == "redirect loop"
    assert server.hits("/a") == 1 and server.hits("/b") == 1


def test_redirect_to_ftp_is_blocked(server: Server, transport: str) -> None:
    server.routes["/dl"] = redirect("ftp://files.example.org/release.pdf")
    with pytest.raises(BlockedURLError, match=r"redirect to a non-http\(s\) URL \(ftp:\)"):
        run(fetch(transport, server.url("/dl")))


def test_redirect_without_location(server: Server, transport: str) -> None:
    server.routes["/odd"] = static(302, b"")
    with pytest.raises(HTTPStatusError, match="without a Location"):
        run(fetch(transport, server.url("/odd")))


# ------------------------------------------------------------------ robots.txt


def test_robots_disallow_and_cache(server: Server, transport: str) -> None:
    server.routes["/robots.txt"] = static(
        200, b"User-agent: *\nDisallow: /private/\n\nUser-agent: monitor\nDisallow: /admin\n"
    )
    server.routes["/private/x"] = static(200, b"secret")
    server.routes["/admin"] = static(200, b"admin")
    server.routes["/news"] = static(200, b"news")

    async def go():
        async with fetcher(transport, config(robots=True)) as f:
            ok = await f.get(server.url("/news"))
            with pytest.raises(BlockedURLError, match="disallowed by robots.txt") as info:
                await f.get(server.url("/admin"), source="s")
            assert info.value.source == "s"
            # our own group replaces the * group: /private/ is not ours to avoid
            private = await f.get(server.url("/private/x"))
            return ok, private

    ok, private = run(go())
    assert ok.content == b"news" and private.content == b"secret"
    assert server.hits("/robots.txt") == 1
    assert server.hits("/admin") == 0
    assert "monitor" in server.log[0][1]["user-agent"]


def test_robots_5xx_disallows_everything(server: Server, transport: str) -> None:
    server.routes["/robots.txt"] = static(503)
    server.routes["/news"] = static(200, b"news")
    with pytest.raises(BlockedURLError, match=r"robots.txt unreachable \(HTTP 503\)"):
        run(fetch(transport, server.url("/news"), config(robots=True)))
    assert server.hits("/news") == 0


def test_robots_4xx_allows_everything(server: Server, transport: str) -> None:
    server.routes["/news"] = static(200, b"news")
    assert run(fetch(transport, server.url("/news"), config(robots=True))).content == b"news"
    assert server.hits("/robots.txt") == 1


def test_robots_off(server: Server, transport: str) -> None:
    server.routes["/robots.txt"] = static(200, b"User-agent: *\nDisallow: /\n")
    server.routes["/news"] = static(200, b"news")
    assert run(fetch(transport, server.url("/news"), config(robots=False))).content == b"news"
    assert server.hits("/robots.txt") == 0
    with pytest.raises(BlockedURLError, match="robots"):
        run(fetch(transport, server.url("/news"), config(robots=True)))


def test_robots_applies_to_redirect_targets(server: Server, transport: str) -> None:
    server.routes["/robots.txt"] = static(200, b"User-agent: *\nDisallow: /hidden\n")
    server.routes["/go"] = redirect("/hidden/page")
    with pytest.raises(BlockedURLError, match="disallowed by robots.txt"):
        run(fetch(transport, server.url("/go"), config(robots=True)))


@pytest.mark.parametrize(
    ("robots", "path", "allowed"),
    [
        ("User-agent: *\nDisallow: /\nAllow: /news/\n", "/news/1", True),  # longest match
        ("User-agent: *\nDisallow: /\nAllow: /news/\n", "/about", False),
        ("User-agent: *\nAllow: /p\nDisallow: /p\n", "/p/x", True),  # tie: allow wins
        ("User-agent: *\nDisallow: /*.pdf$\n", "/docs/a.pdf", False),
        ("User-agent: *\nDisallow: /*.pdf$\n", "/docs/a.pdf?x=1", True),
        ("User-agent: *\nDisallow: /search?q=\n", "/search?q=news", False),
        ("User-agent: *\nDisallow:\n", "/anything", True),  # empty Disallow: allow all
        ("User-agent: Googlebot\nDisallow: /\n", "/x", True),  # no group for us
        ("User-agent: Googlebot\nUser-agent: Monitor/2.0\nDisallow: /x\n", "/x/y", False),
        ("User-agent: *\nDisallow: /%7Ejoe/\n", "/~joe/page", False),
        ("# only comments\n", "/x", True),
        ("User-agent: *\nDisallow: /\n", "/robots.txt", True),
    ],
)
def test_robots_rules(robots: str, path: str, allowed: bool) -> None:
    assert Robots.parse(robots).allowed(path) is allowed


# ------------------------------------------------------------------ SSRF guard


def test_discovered_link_to_private_host_is_refused(server: Server, transport: str) -> None:
    server.routes["/page"] = static(200, b"inside")
    url = f"http://localhost:{server.server_address[1]}/page"
    with pytest.raises(BlockedURLError) as info:
        run(fetch(transport, url, discovered=True, source="s"))
    assert "non-public address" in str(info.value)
    assert info.value.source == "s" and info.value.url == url
    assert server.hits("/page") == 0
    # the same link is fine when the config names the host, or when the config gave the URL
    allowed = run(fetch(transport, url, discovered=True, allowed_hosts={"LOCALHOST"}))
    assert allowed.content == b"inside"
    assert run(fetch(transport, url, discovered=False)).content == b"inside"


def test_discovered_link_on_a_named_host(server: Server, transport: str) -> None:
    server.routes["/page"] = static(200, b"ok")
    result = run(
        fetch(transport, server.url("/page"), discovered=True, allowed_hosts={"127.0.0.1"})
    )
    assert result.content == b"ok"


def test_redirect_to_another_private_host_is_refused(server: Server, transport: str) -> None:
    port = server.server_address[1]
    server.routes["/out"] = redirect(f"http://localhost:{port}/admin")
    server.routes["/admin"] = static(200, b"admin")
    with pytest.raises(BlockedURLError, match="non-public"):
        run(fetch(transport, server.url("/out"), allowed_hosts={"127.0.0.1"}))
    assert server.hits("/admin") == 0
    # a discovered link on a named host redirecting within that host is fine
    server.routes["/in"] = redirect("/admin")
    result = run(fetch(transport, server.url("/in"), discovered=True, allowed_hosts={"127.0.0.1"}))
    assert result.content == b"admin"


def test_discovered_link_to_public_address_passes() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, content=b"public")

    async def go():
        cfg = config()
        async with Fetcher(cfg, transport=httpx.MockTransport(handler)) as f:
            return await f.get("http://93.184.215.14/news", discovered=True)

    assert run(go()).content == b"public"
    assert seen == ["http://93.184.215.14/news"]


@pytest.mark.parametrize("host", ["10.1.2.3", "169.254.169.254", "[::1]", "0.0.0.0", "100.64.0.1"])
def test_discovered_non_public_literals_are_refused(host: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:  # pragma: no cover - must not run
        raise AssertionError("request sent")

    async def go():
        async with Fetcher(config(), transport=httpx.MockTransport(handler)) as f:
            await f.get(f"http://{host}/latest/meta-data", discovered=True)

    with pytest.raises(BlockedURLError, match="non-public"):
        run(go())


# ------------------------------------------------------------------ politeness


def slow(seconds: float, body: bytes = b"ok") -> Route:
    def route(h: Handler) -> Reply:
        time.sleep(seconds)
        return Reply(200, body)

    return route


@pytest.mark.parametrize("per_host", [1, 2, 3])
def test_per_host_limit(server: Server, transport: str, per_host: int) -> None:
    server.routes["/p"] = slow(0.15)

    async def go():
        async with fetcher(transport, config(per_host=per_host)) as f:
            await asyncio.gather(*(f.get(server.url(f"/p?{i}")) for i in range(8)))

    run(go())
    assert server.hits("/p") == 8
    assert server.peak == per_host


def test_delay_between_requests_to_a_host(server: Server, transport: str) -> None:
    server.routes["/d"] = static(200, b"ok")

    async def go():
        async with fetcher(transport, config(delay=0.2, per_host=4)) as f:
            await asyncio.gather(*(f.get(server.url(f"/d?{i}")) for i in range(4)))

    run(go())
    starts = sorted(t for _, _, t in server.log)
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert len(gaps) == 3
    # Server-side arrival times jitter on a loaded machine: the client spaces its requests by
    # 0.2 s, so the whole run spans at least ~0.6 s and no two requests arrive together.
    assert starts[-1] - starts[0] >= 0.55
    assert min(gaps) >= 0.1


def test_errors_are_fetch_errors_with_context(server: Server, transport: str) -> None:
    server.routes["/x"] = static(404)
    with pytest.raises(FetchError) as info:
        run(fetch(transport, server.url("/x"), source="mfa"))
    assert (info.value.source, info.value.url) == ("mfa", server.url("/x"))


# ------------------------------------------------------------------ charset end to end


def test_windows_1251_page_with_contradicting_header(server: Server, transport: str) -> None:
    content = (PAGES / "cp1251_meta.html").read_bytes()
    server.routes["/news.php"] = static(200, content, Content_Type="text/html; charset=utf-8")
    result = run(fetch(transport, server.url("/news.php")))
    text = decode_result(result)
    assert "О встрече Министра с делегацией Республики Беларусь" in text
    assert "\ufffd" not in text


def test_long_headers_are_accepted(server: Server, transport: str) -> None:
    sources = "; ".join(f"script-src https://cdn{i}.example" for i in range(600))
    policy = "default-src 'self'; " + sources
    assert len(policy) > 16_000
    server.routes["/csp"] = static(200, b"ok", Content_Security_Policy=policy)
    result = run(fetch(transport, server.url("/csp")))
    assert result.headers["content-security-policy"] == policy


def test_cookies_are_kept_once(server: Server, transport: str) -> None:
    server.routes["/set"] = static(200, b"", Set_Cookie="sid=abc; Path=/")
    server.routes["/next"] = static(200, b"")

    async def go():
        async with fetcher(transport) as f:
            await f.get(server.url("/set"))
            await f.get(server.url("/next"))

    run(go())
    assert server.log[1][1]["cookie"] == "sid=abc"


def test_credentials_do_not_follow_a_redirect_to_another_origin(
    server: Server, transport: str
) -> None:
    port = server.server_address[1]
    server.routes["/here"] = redirect("/there")
    server.routes["/there"] = redirect(f"http://localhost:{port}/away")
    server.routes["/away"] = static(200, b"ok")
    secret = {"Authorization": "Bearer s3cret", "Accept-Language": "ru"}
    result = run(
        fetch(transport, server.url("/here"), headers=secret, allowed_hosts={"localhost"})
    )
    assert result.url == f"http://localhost:{port}/away"
    sent = [headers for _, headers, _ in server.log]
    assert sent[0]["authorization"] == sent[1]["authorization"] == "Bearer s3cret"
    assert "authorization" not in sent[2]
    assert sent[2]["accept-language"] == "ru"


@pytest.mark.parametrize("url", ["http://example.org:99999/", "http://[::1/"])
def test_invalid_urls_are_refused(url: str) -> None:
    with pytest.raises(BlockedURLError, match="invalid URL"):
        run(fetch("aiohttp", url))


def test_robots_redirect_is_followed(server: Server, transport: str) -> None:
    server.routes["/robots.txt"] = redirect("/static/robots.txt", 301)
    server.routes["/static/robots.txt"] = static(200, b"User-agent: monitor\nDisallow: /x\n")
    server.routes["/x"] = static(200, b"x")
    with pytest.raises(BlockedURLError, match="disallowed by robots.txt"):
        run(fetch(transport, server.url("/x"), config(robots=True)))
    assert server.hits("/x") == 0


def test_robots_redirect_to_a_private_host_is_not_followed(server: Server, transport: str) -> None:
    port = server.server_address[1]
    server.routes["/robots.txt"] = redirect(f"http://localhost:{port}/internal/robots.txt")
    server.routes["/internal/robots.txt"] = static(200, b"User-agent: *\nDisallow: /\n")
    server.routes["/x"] = static(200, b"x")
    assert run(fetch(transport, server.url("/x"), config(robots=True))).content == b"x"
    assert server.hits("/internal/robots.txt") == 0


def test_credentials_in_the_url_become_basic_auth(server: Server, transport: str) -> None:
    # regression: aiohttp refused "user:pass@" URLs with an internal ValueError
    server.routes["/private"] = static(200, b"ok")
    url = server.url("/private").replace("http://", "http://press:s%40cret@")
    result = run(fetch(transport, url))
    assert result.status == 200 and "@" not in result.url
    assert server.log[0][1]["authorization"] == "Basic " + base64.b64encode(
        b"press:s@cret").decode()
