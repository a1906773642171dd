"""HTML listing pages: article links by CSS selector, paged by a "next" link.

Without ``source.links`` the default is ``DEFAULT_LINKS`` (links in ``<article>``, in lists inside
``<main>``, and in headings), keeping links whose text reads like a headline or whose path looks
like an article. When that finds nothing: every same-site link with a text, outside ``nav``,
``header``, ``footer`` and ``aside`` (or an element whose class or id says menu, footer,
breadcrumbs, pager...), whose path looks like an article: a date or a long number in it, like
``./202112/t20211208_123.html``, ``/news/12345/`` or ``detail.php?ID=45123``.
Without ``source.next`` the next page is ``rel="next"`` or a link reading "Next", "След.",
"下一页"...
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from selectolax.lexbor import LexborHTMLParser, LexborNode

from monitor.encoding import decode_result
from monitor.errors import BotWallError, ParseError
from monitor.models import FetchResult, Item, Listing
from monitor.sources.base import (
    FetchingKind,
    Getter,
    absolute,
    clean_text,
    follow_pages,
    same_site,
)
from monitor.sources.detect import botwall_reason

if TYPE_CHECKING:
    from monitor.config import SourceConfig
    from monitor.store import SourceState

DEFAULT_LINKS = (
    "article a[href], main li a[href], h1 a[href], h2 a[href], h3 a[href], h4 a[href]"
)
DEFAULT_NEXT = "a[rel~=next][href], link[rel~=next][href]"
_NEXT_WORDS = {
    "next", "next page", "next »", "older", "older posts", "more", "следующая", "следующая »",
    "след.", "далее", "вперед", "вперёд", "下一页", "下页", "suivant", "page suivante", "weiter",
    "nächste", "siguiente", "»", "›", ">", ">>", "→",
}
_CHROME = {"nav", "header", "footer", "aside"}
_CHROME_NAMES = re.compile(
    r"(?:^|[\s_-])(?:nav|navbar|menu|foot|footer|crumbs?|breadcrumbs?|sidebar|"
    r"pager|pagination|share|social)(?:$|[\s_-])",
    re.I,
)
_ARTICLE_PATH = re.compile(
    r"(?:19|20)\d\d[/_-]?[01]\d(?:[/_-]?[0-3]\d)?(?:[/_.-]|$)|\d{4,}|"
    r"/[^/?#]*[a-z0-9](?:-[^/?#-]+){3,}/?(?:\.s?html?)?$",
    re.I,
)
_SKIP_FILES = re.compile(
    r"\.(?:jpe?g|png|gif|webp|svg|pdf|docx?|xlsx?|pptx?|zip|rar|7z|mp[34]|avi|mov|rtf|odt)$",
    re.I,
)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


def _base_url(tree: LexborHTMLParser, url: str) -> str:
    node = tree.css_first("base[href]")
    if node is not None:
        return absolute(url, node.attributes.get("href")) or url
    return url


def _link_title(node: LexborNode) -> str | None:
    text = clean_text(node.text(deep=True, separator=" "))
    if text:
        return text
    title = clean_text(node.attributes.get("title"))
    if title:
        return title
    img = node.css_first("img[alt]")
    return clean_text(img.attributes.get("alt")) if img is not None else None


def _in_chrome(node: LexborNode) -> bool:
    """Inside navigation, header, footer or sidebar (by element, or by class or id)."""
    parent = node.parent
    while parent is not None and parent.tag not in ("body", "html"):
        if parent.tag in _CHROME:
            return True
        attrs = parent.attributes
        names = f"{attrs.get('class') or ''} {attrs.get('id') or ''}"
        if names.strip() and _CHROME_NAMES.search(names):
            return True
        parent = parent.parent
    return False


def _headline(title: str | None) -> bool:
    if not title:
        return False
    if _CJK.search(title):
        return len(title) >= 6
    return len(title.split()) >= 3 and len(title) >= 15


def _article_path(url: str) -> bool:
    path = url.split("://", 1)[-1].partition("/")[2]
    return bool(_ARTICLE_PATH.search("/" + path.split("?", 1)[0])) or "?" in path and bool(
        re.search(r"(?:^|[?&])(?:id|element_id|news_id|p)=\d+", path.split("?", 1)[1], re.I)
    )


def parse_listing(
    page: str, url: str, *, links: str | None = None, next_selector: str | None = None
) -> tuple[list[Item], str | None]:
    """Article links on one listing page, and the next page's URL (None without one)."""
    tree = LexborHTMLParser(page)
    base = _base_url(tree, url)
    next_url = _next_page(tree, base, url, next_selector)
    skip = {url.split("#", 1)[0], base}
    if next_url:
        skip.add(next_url)
    found: dict[str, Item] = {}

    def add(href: str, title: str | None) -> None:
        old = found.get(href)
        if old is None:
            found[href] = Item(url=href, title=title)
        elif title and (not old.title or len(title) > len(old.title)):
            found[href] = Item(url=href, title=title)

    if links:
        for node in tree.css(links):
            href = absolute(base, node.attributes.get("href"))
            if href and href not in skip:
                add(href, _link_title(node))
        return list(found.values()), next_url

    for node in tree.css(DEFAULT_LINKS):
        href = absolute(base, node.attributes.get("href"))
        if not href or href in skip or not same_site(href, url) or _SKIP_FILES.search(href):
            continue
        title = _link_title(node)
        if _headline(title) or _article_path(href):
            add(href, title)
    if not found:
        for node in tree.css("a[href]"):
            href = absolute(base, node.attributes.get("href"))
            if (
                not href
                or href in skip
                or not same_site(href, url)
                or _SKIP_FILES.search(href)
                or not _article_path(href)
                or _in_chrome(node)
            ):
                continue
            title = _link_title(node)
            if title:
                add(href, title)
    return list(found.values()), next_url


def _next_page(
    tree: LexborHTMLParser, base: str, url: str, selector: str | None
) -> str | None:
    here = url.split("#", 1)[0]
    candidates = tree.css(selector or DEFAULT_NEXT)
    if not selector and not candidates:
        candidates = [
            n for n in tree.css("a[href]")
            if (clean_text(n.text(deep=True)) or "").lower() in _NEXT_WORDS
        ]
    for node in candidates:
        href = absolute(base, node.attributes.get("href"))
        if href and href != here:
            return href
    return None


class HtmlKind(FetchingKind):
    """A listing page of article links, paged by ``source.next`` up to ``source.pages``."""

    name = "html"

    async def from_result(
        self, source: SourceConfig, fetcher: Getter, state: SourceState, first: FetchResult
    ) -> Listing:
        def parse(result: FetchResult) -> tuple[Sequence[Item], str | None]:
            page = decode_result(result, source.encoding)
            reason = botwall_reason(page)
            if reason:
                raise BotWallError(
                    f"got a bot-wall/challenge page instead of the listing: {reason}",
                    source=source.name, url=result.url,
                )
            return parse_listing(
                page, result.url, links=source.links,
                next_selector=source.next if source.pages > 1 else None,
            )

        items, pages = await follow_pages(source, fetcher, first, parse, lambda i: i.url)
        if not items and (state.last_count or 0) > 0:
            raise ParseError(
                f"no article links found ({state.last_count} before)",
                source=source.name, url=first.url,
            )
        return Listing(
            items=tuple(items.values()), validators=first.validators, pages=pages, kind=self.name
        )
