"""Source kinds: one module per kind, registered in ``KINDS``; ``collect`` dispatches.

    feed     RSS 0.9x/1.0/2.0 and Atom (feed.py; fast path fastfeed.py, feedparser fallback)
    html     a listing page of article links (html.py)
    sitemap  sitemap, sitemap index, Google News sitemap (sitemap.py)
    auto     no ``type`` given: detected from the first answer (detect.py)

A kind is a small class with ``name``, ``collect(source, fetcher, state)`` (conditional GET of the
source's URL, then ``from_result``) and ``from_result(source, fetcher, state, first)``.
Items only: the pipeline fetches and extracts the article pages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.errors import SourceError
from monitor.models import Listing
from monitor.sources.base import Getter, Kind, ParsedFeed
from monitor.sources.detect import AutoKind
from monitor.sources.feed import FeedKind, parse_feed
from monitor.sources.html import HtmlKind, parse_listing
from monitor.sources.sitemap import SitemapKind, parse_sitemap

if TYPE_CHECKING:
    from monitor.config import SourceConfig
    from monitor.store import SourceState

KINDS: dict[str, Kind] = {k.name: k for k in (FeedKind(), HtmlKind(), SitemapKind(), AutoKind())}


async def collect(source: SourceConfig, fetcher: Getter, state: SourceState) -> Listing:
    """What the source lists now. Raises ParseError, BotWallError or FetchError (with context).

    A 304 on the source's own URL gives ``Listing(not_modified=True)``.
    """
    try:
        return await KINDS[source.type or "auto"].collect(source, fetcher, state)
    except SourceError as exc:
        if exc.source is None:
            exc.source = source.name
        raise


__all__ = [
    "KINDS",
    "Getter",
    "Kind",
    "ParsedFeed",
    "collect",
    "parse_feed",
    "parse_listing",
    "parse_sitemap",
]
