"""The one HTTP client: limits, conditional GET, retries, politeness.

``Fetcher.get()`` returns a :class:`FetchResult` (a 304 is ``not_modified=True``) or raises a
:class:`monitor.errors.FetchError` subclass carrying ``source`` and ``url``. Per request it:

* refuses URLs that are not http(s), and, for links found in fetched content (``discovered``),
  hosts that resolve to loopback, private, link-local or reserved addresses, unless the config
  names the host (``allowed_hosts``);
* asks the host's robots.txt (RFC 9309, product token ``monitor``), cached per origin;
* holds one of ``fetch.per_host`` slots of the host and waits ``fetch.delay`` after the previous
  request to it;
* gives each attempt ``fetch.timeout`` seconds in total (connect, headers and body) and stops
  reading once the decoded body passes ``fetch.max_bytes`` (a gzip bomb is cut at the cap);
* retries connection errors, timeouts, 429 and 5xx ``fetch.retries`` times with exponential
  backoff and full jitter, honouring ``Retry-After`` up to ``MAX_RETRY_AFTER`` seconds;
* follows at most ``MAX_REDIRECTS`` redirects, checking every target like the first URL.

Every ``import httpx`` of the project lives here (and in the webhook sender).
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import random
import socket
import time
import zlib
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from urllib.parse import unquote, urlsplit, urlunsplit

import aiohttp
import httpx

from monitor.config import FetchConfig
from monitor.errors import (
    BlockedURLError,
    FetchError,
    HTTPStatusError,
    TimeoutError_,
    TooLargeError,
    TooManyRedirects,
    TransportError,
)
from monitor.models import FetchResult, Validators
from monitor.robots import PRODUCT_TOKEN, Robots

MAX_REDIRECTS = 5
BACKOFF_BASE = 1.0  # seconds; the n-th retry waits uniform(0, base * 2**n), capped
MAX_RETRY_AFTER = 60.0  # longest wait honoured; a server asking for more fails the fetch
ROBOTS_TTL = 86400.0  # RFC 9309: a cached robots.txt is used for at most 24 hours
ROBOTS_ERROR_TTL = 600.0  # an unreachable robots.txt is asked again after 10 minutes
ROBOTS_MAX_BYTES = 512_000  # RFC 9309 asks parsers to read at least 500 KiB
REDIRECTS = frozenset({301, 302, 303, 307, 308})
ACCEPT_ENCODING = "gzip, deflate"  # the codings _Inflater can decode within the size cap
ADDRESS_TTL = 300.0  # a host found public is not resolved again for this long
_CREDENTIALS = frozenset({"authorization", "cookie", "proxy-authorization"})


MAX_HEADER_BYTES = 65536  # aiohttp's 8 KB default rejects real sites' long CSP and cookies


def default_transport() -> httpx.AsyncBaseTransport:
    """httpx over aiohttp: 4-6x httpx's own transport with 16 requests in flight (see
    tests/benchmarks/bench_fetch.py). Cookies are kept by httpx alone (no second jar in
    aiohttp), and header lines up to 64 KB are accepted."""
    from httpx_aiohttp import AiohttpTransport

    ssl_context = httpx.create_ssl_context()

    def session() -> aiohttp.ClientSession:  # called on first use, inside the event loop
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=100, ssl=ssl_context),
            cookie_jar=aiohttp.DummyCookieJar(),
            max_line_size=MAX_HEADER_BYTES,
            max_field_size=MAX_HEADER_BYTES,
        )

    return AiohttpTransport(client=session)


# ------------------------------------------------------------------ helpers


def _size(n: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if n >= scale:
            return f"{n / scale:g} {unit}"
    return f"{n} bytes"


def _seconds(t: float) -> str:
    return f"{t:g}s"


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds from now: a number, or an HTTP date. None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _hostname(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:  # reported by Fetcher._admit
        return ""


def _origin(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme.lower()}://{_hostname(url)}:{port}"


def _is_timeout(exc: BaseException) -> bool:
    """Timeouts, told apart from httpx-aiohttp's habit of calling a refused connection one."""
    if isinstance(exc, httpx.TimeoutException):
        cause = exc.__cause__
        return not (isinstance(cause, aiohttp.ClientError) and not isinstance(cause, TimeoutError))
    return isinstance(exc, TimeoutError)


class _Inflater:
    """Decodes gzip/deflate while never producing more than the caller has room for."""

    def __init__(self, coding: str) -> None:
        self._coding = coding
        wbits = zlib.MAX_WBITS | 16 if coding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._d = zlib.decompressobj(wbits)
        self._started = False

    def feed(self, data: bytes, room: int) -> bytes:
        """Up to ``room + 1`` decoded bytes (one more than room means: too large)."""
        try:
            out = self._d.decompress(data, room + 1)
        except zlib.error:
            if self._coding != "deflate" or self._started:
                raise
            self._d = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, as some servers send
            out = self._d.decompress(data, room + 1)
        self._started = True
        return out

    def flush(self) -> bytes:
        return self._d.flush()


async def _decoded(response: httpx.Response, limit: int) -> AsyncIterator[bytes]:
    """The decoded body in pieces; stops with ``_Overflow`` once it passes ``limit`` bytes."""
    coding = response.headers.get("content-encoding", "identity").strip().lower()
    total = 0
    if response.is_stream_consumed:  # a transport that read the body itself (MockTransport)
        if len(response.content) > limit:
            raise _Overflow
        yield response.content
        return
    if coding in ("gzip", "x-gzip", "deflate"):
        inflater = _Inflater(coding)
        async for raw in response.aiter_raw():
            piece = inflater.feed(raw, limit - total)
            total += len(piece)
            if total > limit:
                raise _Overflow
            yield piece
        piece = inflater.flush()
    else:
        # identity, or a coding httpx decodes itself (it never asked for one we cannot count)
        chunks = response.aiter_raw() if coding == "identity" else response.aiter_bytes()
        async for piece in chunks:
            total += len(piece)
            if total > limit:
                raise _Overflow
            yield piece
        piece = b""
    if total + len(piece) > limit:
        raise _Overflow
    yield piece


class _Overflow(Exception):
    pass


class _Retry(Exception):
    """An attempt failed in a way worth retrying."""

    def __init__(self, error: FetchError, retry_after: float | None = None) -> None:
        self.error = error
        self.retry_after = retry_after


@dataclass
class _Host:
    slots: asyncio.Semaphore
    pacing: asyncio.Lock = field(default_factory=asyncio.Lock)
    next_at: float = 0.0


@dataclass(frozen=True)
class _Answer:
    url: str
    status: int
    headers: dict[str, str]
    content: bytes = b""


# ------------------------------------------------------------------ the client


class Fetcher:
    """The project's HTTP client. Use as ``async with Fetcher(config.fetch) as f:``."""

    def __init__(
        self,
        config: FetchConfig,
        *,
        allowed_hosts: Iterable[str] = (),
        transport: httpx.AsyncBaseTransport | None = None,
        backoff_base: float | None = None,
        max_retry_after: float | None = None,
    ) -> None:
        self.config = config
        self.allowed_hosts = frozenset(h.lower() for h in allowed_hosts if h)
        self.backoff_base = BACKOFF_BASE if backoff_base is None else backoff_base
        self.max_retry_after = MAX_RETRY_AFTER if max_retry_after is None else max_retry_after
        self._client = httpx.AsyncClient(
            transport=transport if transport is not None else default_transport(),
            headers={"User-Agent": config.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
            timeout=httpx.Timeout(config.timeout),
            follow_redirects=False,
        )
        self._hosts: dict[str, _Host] = {}
        self._robots: dict[str, tuple[Robots, float]] = {}
        self._robots_locks: dict[str, asyncio.Lock] = {}
        self._public: dict[str, float] = {}  # host -> until when it counts as public

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    # -------------------------------------------------------------- public

    async def get(
        self,
        url: str,
        *,
        source: str | None = None,
        validators: Validators | None = None,
        headers: Mapping[str, str] | None = None,
        discovered: bool = False,
    ) -> FetchResult:
        """GET ``url`` politely within the limits; see the module docstring."""
        started = time.monotonic()
        sent = dict(headers or {})
        url, basic = _split_userinfo(url)
        if basic and not any(k.lower() == "authorization" for k in sent):
            sent["Authorization"] = basic
        if validators is not None:
            if validators.etag:
                sent["If-None-Match"] = validators.etag
            if validators.last_modified:
                sent["If-Modified-Since"] = validators.last_modified
        first_host = _hostname(url)
        current = url
        seen = {url}
        for hop in range(MAX_REDIRECTS + 1):
            guard = discovered or _hostname(current) != first_host
            await self._admit(current, source, guard_address=guard, redirected=hop > 0)
            answer = await self._with_retries(current, sent, source)
            if answer.status not in REDIRECTS:
                return FetchResult(
                    url=answer.url,
                    status=answer.status,
                    headers=answer.headers,
                    content=answer.content,
                    not_modified=answer.status == 304,
                    elapsed=time.monotonic() - started,
                )
            target = self._location(answer, source)
            if target in seen:
                raise TooManyRedirects("redirect loop", source=source, url=url)
            seen.add(target)
            if _origin(target) != _origin(current):  # as browsers do: credentials stay home
                sent = {k: v for k, v in sent.items() if k.lower() not in _CREDENTIALS}
            current = target
        raise TooManyRedirects(
            f"more than {MAX_REDIRECTS} redirects", source=source, url=url
        )

    # -------------------------------------------------------------- checks

    async def _admit(
        self, url: str, source: str | None, *, guard_address: bool, redirected: bool
    ) -> None:
        """Scheme, address and robots.txt checks; raises BlockedURLError."""
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError as exc:
            raise BlockedURLError(f"invalid URL: {exc}", source=source, url=url) from exc
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not _hostname(url):
            shown = f"{scheme}:" if scheme else "no scheme"
            what = "a redirect to a non-http(s) URL" if redirected else "not an http(s) URL"
            raise BlockedURLError(f"{what} ({shown})", source=source, url=url)
        if guard_address:
            await self._check_address(url, source)
        if self.config.robots:
            robots = await self._robots_for(url, source)
            if not robots.allowed(url):
                raise BlockedURLError(
                    robots.reason or "disallowed by robots.txt", source=source, url=url
                )

    async def _check_address(self, url: str, source: str | None) -> None:
        """Refuse hosts that resolve to non-public addresses, unless the config names them."""
        host = _hostname(url)
        if host in self.allowed_hosts or self._public.get(host, 0.0) > time.monotonic():
            return
        port = urlsplit(url).port or 80
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise TransportError(f"cannot resolve {host}: {exc}", source=source, url=url) from exc
        for info in infos:
            ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
                ip = ip.ipv4_mapped
            if not ip.is_global or ip.is_multicast:
                raise BlockedURLError(
                    f"refused: {host} resolves to a non-public address ({ip}); "
                    "only hosts named in the config may be private",
                    source=source,
                    url=url,
                )
        self._public[host] = time.monotonic() + ADDRESS_TTL

    async def _robots_for(self, url: str, source: str | None) -> Robots:
        origin = _origin(url)
        lock = self._robots_locks.setdefault(origin, asyncio.Lock())
        async with lock:
            cached = self._robots.get(origin)
            if cached and cached[1] > time.monotonic():
                return cached[0]
            robots, ttl = await self._load_robots(origin, source)
            self._robots[origin] = (robots, time.monotonic() + ttl)
            return robots

    async def _load_robots(self, origin: str, source: str | None) -> tuple[Robots, float]:
        """RFC 9309 2.3.1: 2xx parse; 4xx allow all; 5xx, 429 or unreachable disallow all."""
        url = f"{origin}/robots.txt"
        for _ in range(MAX_REDIRECTS + 1):
            try:
                answer = await self._attempt(
                    url, {}, source, limit=ROBOTS_MAX_BYTES, truncate=True
                )
            except _Retry as exc:
                reason = f"robots.txt unreachable ({exc.error.message}): not fetching"
                return Robots.disallow_all(reason), ROBOTS_ERROR_TTL
            if answer.status in REDIRECTS and "location" in answer.headers:
                try:
                    url = str(httpx.URL(url).join(answer.headers["location"]))
                    if urlsplit(url).scheme not in ("http", "https"):
                        raise BlockedURLError("robots.txt redirects to a non-http(s) URL")
                    if _hostname(url) != _hostname(origin):
                        await self._check_address(url, source)
                except (httpx.InvalidURL, FetchError):
                    return Robots.allow_all(), ROBOTS_TTL  # treated as unavailable (4xx)
                continue
            if 200 <= answer.status < 300:
                text = answer.content.decode("utf-8", errors="replace")
                return Robots.parse(text, PRODUCT_TOKEN), ROBOTS_TTL
            if 400 <= answer.status < 500 and answer.status != 429:
                return Robots.allow_all(), ROBOTS_TTL
            reason = f"robots.txt unreachable (HTTP {answer.status}): not fetching"
            return Robots.disallow_all(reason), ROBOTS_ERROR_TTL
        return Robots.allow_all(), ROBOTS_TTL  # RFC 9309: after 5 redirects, unavailable

    def _location(self, answer: _Answer, source: str | None) -> str:
        location = answer.headers.get("location")
        if not location:
            raise HTTPStatusError(
                f"HTTP {answer.status} redirect without a Location",
                status=answer.status,
                source=source,
                url=answer.url,
            )
        try:
            return str(httpx.URL(answer.url).join(location.strip()))
        except httpx.InvalidURL as exc:
            raise BlockedURLError(
                f"redirect to an invalid URL: {location!r}", source=source, url=answer.url
            ) from exc

    # -------------------------------------------------------------- requests

    async def _with_retries(
        self, url: str, headers: Mapping[str, str], source: str | None
    ) -> _Answer:
        attempts = self.config.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                answer = await self._attempt(url, headers, source, limit=self.config.max_bytes)
            except _Retry as exc:
                if attempt == attempts:
                    suffix = f" ({attempts} attempts)" if attempts > 1 else ""
                    exc.error.message += suffix
                    exc.error.args = (exc.error.message,)
                    raise exc.error from exc.__cause__
                await asyncio.sleep(self._backoff(attempt))
                continue
            status = answer.status
            if status == 429 or status >= 500:
                wait = parse_retry_after(answer.headers.get("retry-after"))
                if wait is not None and wait > self.max_retry_after:
                    raise HTTPStatusError(
                        f"HTTP {status}: the server asks to wait {wait:.0f}s, more than the "
                        f"{self.max_retry_after:g}s this client waits",
                        status=status,
                        source=source,
                        url=url,
                    )
                if attempt == attempts:
                    tail = f" after {attempts} attempts" if attempts > 1 else ""
                    raise HTTPStatusError(
                        f"HTTP {status}{tail}", status=status, source=source, url=url
                    )
                await asyncio.sleep(wait if wait is not None else self._backoff(attempt))
                continue
            if status >= 400:
                raise HTTPStatusError(f"HTTP {status}", status=status, source=source, url=url)
            return answer
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int) -> float:
        """Full jitter: uniform(0, base * 2**(attempt-1)), capped at MAX_RETRY_AFTER."""
        return random.uniform(0, min(self.max_retry_after, self.backoff_base * 2 ** (attempt - 1)))

    def _host(self, url: str) -> _Host:
        host = _hostname(url)
        state = self._hosts.get(host)
        if state is None:
            state = self._hosts[host] = _Host(asyncio.Semaphore(self.config.per_host))
        return state

    async def _pace(self, host: _Host) -> None:
        """Wait until ``fetch.delay`` has passed since the previous request to this host."""
        if self.config.delay <= 0:
            return
        async with host.pacing:
            wait = host.next_at - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            host.next_at = time.monotonic() + self.config.delay

    async def _attempt(
        self,
        url: str,
        headers: Mapping[str, str],
        source: str | None,
        *,
        limit: int,
        truncate: bool = False,
    ) -> _Answer:
        """One request within the total deadline. Raises _Retry or a final FetchError."""
        host = self._host(url)
        timeout = self.config.timeout
        async with host.slots:
            await self._pace(host)
            try:
                async with asyncio.timeout(timeout):
                    return await self._exchange(url, headers, limit, truncate)
            except _Overflow:
                raise TooLargeError(
                    f"body larger than {_size(limit)}", source=source, url=url
                ) from None
            except httpx.InvalidURL as exc:
                raise BlockedURLError(f"invalid URL: {exc}", source=source, url=url) from exc
            except httpx.DecodingError as exc:
                raise TransportError(
                    f"cannot decode the body: {exc}", source=source, url=url
                ) from exc
            except (TimeoutError, httpx.TransportError, aiohttp.ClientError, OSError) as exc:
                error: FetchError
                if _is_timeout(exc):
                    error = TimeoutError_(
                        f"timed out after {_seconds(timeout)}", source=source, url=url
                    )
                else:
                    reason = str(exc.__cause__ or exc) or type(exc).__name__
                    error = TransportError(
                        f"connection failed: {reason}", source=source, url=url
                    )
                raise _Retry(error) from exc
            except zlib.error as exc:
                raise TransportError(
                    f"cannot decode the compressed body: {exc}", source=source, url=url
                ) from exc

    async def _exchange(
        self, url: str, headers: Mapping[str, str], limit: int, truncate: bool
    ) -> _Answer:
        async with self._client.stream("GET", url, headers=headers) as response:
            answer_headers = dict(response.headers.items())
            final = str(response.url)
            status = response.status_code
            if status in REDIRECTS or status == 304 or status >= 400:
                return _Answer(final, status, answer_headers)
            length = response.headers.get("content-length", "")
            coded = response.headers.get("content-encoding", "identity") != "identity"
            if not truncate and not coded and length.isdigit() and int(length) > limit:
                raise _Overflow
            body = bytearray()
            try:
                async for piece in _decoded(response, limit):
                    body += piece
            except _Overflow:
                if not truncate:
                    raise
                body = body[:limit]
            return _Answer(final, status, answer_headers, bytes(body))


def _split_userinfo(url: str) -> tuple[str, str | None]:
    """``https://user:pass@host/x`` → (``https://host/x``, a Basic ``Authorization`` value)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url, None
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode()
    return urlunsplit(parts._replace(netloc=hostport)), f"Basic {token}"
