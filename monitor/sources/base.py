"""What every source kind shares: the fetcher protocol, the parsed-feed value, dates, URLs."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

from monitor.models import FetchResult, Item, Listing, Validators

if TYPE_CHECKING:
    from monitor.config import SourceConfig
    from monitor.store import SourceState


class Getter(Protocol):
    """The part of ``monitor.fetch.Fetcher`` the source kinds use."""

    async def get(
        self,
        url: str,
        *,
        source: str | None = None,
        validators: Validators | None = None,
        headers: Mapping[str, str] | None = None,
        discovered: bool = False,
    ) -> FetchResult: ...


class Kind(Protocol):
    """A source kind: ``collect`` fetches the source's URL; ``from_result`` goes on from it."""

    name: str

    async def collect(self, source: SourceConfig, fetcher: Getter, state: SourceState) -> Listing:
        ...

    async def from_result(
        self, source: SourceConfig, fetcher: Getter, state: SourceState, first: FetchResult
    ) -> Listing: ...


class FetchingKind:
    """A kind that starts from a conditional GET of the source's URL; a 304 ends the run."""

    name = ""

    async def collect(self, source: SourceConfig, fetcher: Getter, state: SourceState) -> Listing:
        first = await fetch_first(source, fetcher, state)
        if first.not_modified:
            return Listing(not_modified=True, validators=state.validators, kind=self.name)
        return await self.from_result(source, fetcher, state, first)

    async def from_result(
        self, source: SourceConfig, fetcher: Getter, state: SourceState, first: FetchResult
    ) -> Listing:
        raise NotImplementedError


async def follow_pages(
    source: SourceConfig,
    fetcher: Getter,
    first: FetchResult,
    parse: Callable[[FetchResult], tuple[Sequence[Item], str | None]],
    key: Callable[[Item], str],
) -> tuple[dict[str, Item], int]:
    """Parse the first page, then follow each page's "next" link up to ``source.pages`` pages
    (never the same page twice). Items keep their first appearance, keyed by ``key``."""
    result, pages = first, 1
    seen_pages = {first.url, source.url}
    items: dict[str, Item] = {}
    while True:
        found, nxt = parse(result)
        for item in found:
            items.setdefault(key(item), item)  # the newest page comes first
        if not nxt or pages >= source.pages or nxt in seen_pages:
            return items, pages
        seen_pages.add(nxt)
        result = await fetch_more(source, fetcher, nxt)
        pages += 1


async def fetch_first(source: SourceConfig, fetcher: Getter, state: SourceState) -> FetchResult:
    """The conditional GET of the source's own URL."""
    return await fetcher.get(
        source.url,
        source=source.name,
        validators=state.validators,
        headers=source.headers or None,
    )


async def fetch_more(source: SourceConfig, fetcher: Getter, url: str) -> FetchResult:
    """A further page found in fetched content (next page, child sitemap, advertised feed)."""
    return await fetcher.get(
        url, source=source.name, headers=source.headers or None, discovered=True
    )


@dataclass(frozen=True)
class ParsedFeed:
    """A feed parsed from bytes. ``parser`` is "fast" (lxml) or "feedparser"."""

    format: str  # rss, rdf, atom
    items: tuple[Item, ...]
    title: str | None = None
    link: str | None = None
    next_url: str | None = None
    parser: str = "fast"


# ---------------------------------------------------------------- text and URLs

_PLAIN_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(?::\d+)?(?:[/?#][^\s\\]*)?$")
_TAG = re.compile(r"<[A-Za-z/!][^>]*>")
_SPACE = re.compile(r"\s+")


def clean_text(text: str | None) -> str | None:
    """Tags dropped, entities decoded, white space collapsed; None when nothing is left."""
    if not text:
        return None
    if "<" in text:
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    text = _SPACE.sub(" ", text).strip()
    return text or None


def absolute(base: str, href: str | None, *, fragment: bool = False) -> str | None:
    """``href`` resolved against ``base``; None for empty, fragment-only and non-http links.

    The fragment is dropped unless ``fragment`` (feed entries may differ only by it)."""
    if not href:
        return None
    href = href.strip()
    if not href or href.startswith("#"):
        return None
    if href.startswith(("https://", "http://")) and _PLAIN_URL.match(href):
        return href if fragment else href.split("#", 1)[0]
    try:
        url = urljoin(base, href)
    except ValueError:
        return None
    scheme = url.split(":", 1)[0].lower()
    if scheme not in ("http", "https"):
        return None
    return url if fragment else url.split("#", 1)[0]


def host_of(url: str) -> str:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host[4:] if host.startswith("www.") else host


def same_site(a: str, b: str) -> bool:
    """Same host, ignoring ``www.``, or one a subdomain of the other."""
    ha, hb = host_of(a), host_of(b)
    if not ha or not hb:
        return False
    return ha == hb or ha.endswith("." + hb) or hb.endswith("." + ha)


# ---------------------------------------------------------------- dates


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=64)
def _past_offsets(name: str) -> frozenset[timedelta]:
    """Offsets the zone used in January or July of some year since 1995."""
    tz = zone(name)
    found: set[timedelta] = set()
    for year in range(1995, datetime.now(UTC).year + 1):
        for month in (1, 7):
            off = datetime(year, month, 15, 12, tzinfo=tz).utcoffset()
            if off is not None:
                found.add(off)
    return frozenset(found)


def to_utc(dt: datetime, timezone: str = "UTC") -> datetime:
    """An aware UTC datetime. Naive times are read in ``timezone``.

    A stale offset is corrected: when the source's zone is not UTC and the written offset is not
    the zone's offset at that wall time but one the zone used in the past (a site writing +04:00
    for Moscow time after 2014), the wall time is read in the zone.
    """
    if dt.tzinfo is None:
        return dt.replace(tzinfo=zone(timezone)).astimezone(UTC)
    if timezone != "UTC":
        off = dt.utcoffset()
        wall = dt.replace(tzinfo=None)
        tz = zone(timezone)
        now_offs = {wall.replace(tzinfo=tz, fold=f).utcoffset() for f in (0, 1)}
        if off not in now_offs and off in _past_offsets(timezone):
            return wall.replace(tzinfo=tz).astimezone(UTC)
    return dt.astimezone(UTC)


_ISO_START = re.compile(r"^\d{4}-\d\d")
_YEAR = re.compile(r"\b(\d{4})\b")
MIN_YEAR = 1970  # earlier years in feeds are placeholders (Go's zero time 0001-01-01)


def _fallback_date(text: str, timezone: str) -> datetime | None:
    """Tolerant parsing: monitor.extract.dates, then feedparser's date handlers."""
    from monitor.extract.dates import parse_date

    try:
        found = parse_date(text, timezone=timezone)
    except (ValueError, OverflowError):
        found = None
    if found is not None:
        return found
    from feedparser.datetimes import _parse_date

    return struct_to_utc(_parse_date(text))


def parse_feed_date(text: str | None, timezone: str = "UTC") -> datetime | None:
    """RFC 822 or ISO 8601 (as feeds write them), else a tolerant parse; aware UTC or None."""
    if not text:
        return None
    text = text.strip()
    if not text:
        return None
    dt: datetime | None = None
    try:
        if _ISO_START.match(text):
            iso = text.replace(" ", "T", 1) if len(text) > 10 and text[10] == " " else text
            dt = datetime.fromisoformat(iso)
        else:
            year = _YEAR.search(text)
            if year and int(year.group(1)) < MIN_YEAR:
                return None
            dt = parsedate_to_datetime(text)
    except (ValueError, TypeError, IndexError, OverflowError):
        dt = None
    if dt is None:
        dt = _fallback_date(text, timezone)
        if dt is None:
            return None
    if dt.year < MIN_YEAR:
        return None
    try:
        return to_utc(dt, timezone)
    except (ValueError, OverflowError):
        return None


def struct_to_utc(st: object | None) -> datetime | None:
    """feedparser's ``*_parsed`` (a UTC struct_time) as an aware datetime."""
    if st is None:
        return None
    try:
        y, mo, d, h, mi, sec = st[:6]  # type: ignore[index]
        return datetime(y, mo, d, h, mi, sec, tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None
