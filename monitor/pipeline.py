"""One source, one run: the stages in order, and the one place a source's errors are caught.

    collect (sources) → for each new item: fetch page → extract → build Article
    → in one transaction: dedupe → store → match rules → plan alerts (outbox)
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from monitor import dedupe, sources
from monitor.alerts.outbox import plan_alerts
from monitor.config import Config, SourceConfig
from monitor.encoding import decode_result
from monitor.errors import ExtractError, MonitorError, SourceError
from monitor.extract.dates import SKEW
from monitor.fetch import Fetcher
from monitor.models import Article, Extracted, Item, Validators
from monitor.rules import Document, RuleSet
from monitor.store import Store
from monitor.timeutil import utcnow
from monitor.workers import OFFLOAD_AT, Extractor

log = logging.getLogger(__name__)

ITEM_CONCURRENCY = 32  # article pages of one source in flight; per-host limits still apply


@dataclass
class Context:
    config: Config
    store: Store
    fetcher: Fetcher
    rules: RuleSet
    clock: Callable[[], datetime] = utcnow
    extractor: Extractor = field(default_factory=Extractor)


@dataclass(frozen=True)
class SourceReport:
    source: str
    outcome: str  # new | updated | unchanged | not_modified | error
    new: int = 0
    updated: int = 0
    error: str | None = None
    started_at: datetime = field(default_factory=utcnow)
    duration: float = 0.0
    item_errors: tuple[str, ...] = ()
    alerts: int = 0

    @property
    def ok(self) -> bool:
        return self.outcome != "error"

    def line(self) -> str:
        """The one line ``monitor once`` prints for this source."""
        if self.outcome == "error":
            return f"{self.source}: FAILED: {self.error}"
        if self.outcome == "not_modified":
            text = "unchanged (not modified)"
        elif self.new or self.updated:
            text = f"{self.new} new, {self.updated} updated"
        else:
            text = "unchanged"
        if self.item_errors:
            text += f"; {len(self.item_errors)} article(s) failed: {self.item_errors[0]}"
        return f"{self.source}: {text}"


@asynccontextmanager
async def open_context(config: Config) -> AsyncIterator[Context]:
    """Open the store and the HTTP client for a config; close both on exit."""
    store = Store.open(config.storage.path)
    extractor = Extractor()
    try:
        async with Fetcher(config.fetch, allowed_hosts=config.named_hosts()) as fetcher:
            yield Context(config, store, fetcher, RuleSet.compile(config.rules),
                          extractor=extractor)
    finally:
        extractor.close()
        store.close()


async def run_sources(ctx: Context, selected: Sequence[SourceConfig]) -> list[SourceReport]:
    """Run several sources concurrently; reports come back in the order given."""
    limit = asyncio.Semaphore(ctx.config.fetch.concurrency)

    async def one(source: SourceConfig) -> SourceReport:
        async with limit:
            return await run_source(ctx, source)

    return list(await asyncio.gather(*(one(s) for s in selected)))


async def run_source(ctx: Context, source: SourceConfig) -> SourceReport:
    """Run one source once. Never raises for the source's own failures: they are reported."""
    started, t0 = ctx.clock(), time.monotonic()
    state = ctx.store.source_state(source.name)
    try:
        listing = await sources.collect(source, ctx.fetcher, state)
        if listing.not_modified:
            ctx.store.record_run(source.name, started_at=started, outcome="not_modified")
            return SourceReport(source.name, "not_modified", started_at=started,
                                duration=time.monotonic() - t0)
        articles, item_errors = await _articles(ctx, source, listing.items)
        if item_errors and not articles and not _known_all(ctx, source, listing.items):
            raise SourceError(f"every new article failed: {item_errors[0]}", source=source.name)
        new, updated, alerts = _store_all(ctx, articles)
    except MonitorError as exc:  # SourceError and its kinds; a StorageError too
        return _failed(ctx, source, started, t0, str(exc))
    except Exception as exc:  # a bug must not stop the other sources
        log.exception("source %s: unexpected error", source.name)
        return _failed(ctx, source, started, t0, f"internal error: {type(exc).__name__}: {exc}")
    # When some article failed, forget the validators: the next run must not get a 304 and
    # skip the articles still to be fetched.
    validators = Validators() if item_errors else listing.validators
    ctx.store.record_run(
        source.name, started_at=started, outcome="ok", new=new, updated=updated,
        validators=validators, count=len(listing.items),
    )
    outcome = "new" if new else "updated" if updated else "unchanged"
    return SourceReport(
        source.name, outcome, new, updated, started_at=started,
        duration=time.monotonic() - t0, item_errors=tuple(item_errors), alerts=alerts,
    )


def _failed(ctx: Context, source: SourceConfig, started: datetime, t0: float,
            reason: str) -> SourceReport:
    log.warning("source %s failed: %s", source.name, reason)
    ctx.store.record_run(source.name, started_at=started, outcome="error", error=reason)
    return SourceReport(source.name, "error", error=reason, started_at=started,
                        duration=time.monotonic() - t0)


def raw_hash(item: Item) -> str | None:
    """A hash of a full-text entry as the feed gave it; None for entries without text."""
    if item.body_html is None:
        return None
    raw = "\x00".join((item.title or "", item.body_html, item.author or ""))
    return hashlib.sha1(raw.encode("utf-8", "replace")).hexdigest()


def _needs_work(ctx: Context, source: SourceConfig, item: Item) -> bool:
    """New items, and full-text entries whose text differs from what was stored from them."""
    existing = _existing_id(ctx, source, item)
    if existing is None:
        return True
    return item.body_html is not None and ctx.store.raw_hash_of(existing) != raw_hash(item)


def _known_all(ctx: Context, source: SourceConfig, items: Sequence[Item]) -> bool:
    return all(_existing_id(ctx, source, i) is not None for i in items)


def _existing_id(ctx: Context, source: SourceConfig, item: Item) -> int | None:
    found = ctx.store.find_article(
        url=dedupe.canonical_url(item.url), source=source.name, guid=item.guid
    )
    return found.id if found else None


async def _articles(
    ctx: Context, source: SourceConfig, items: Sequence[Item]
) -> tuple[list[Article], list[str]]:
    """Build Articles for items that are new, or that carry text which may have changed."""
    todo = [i for i in items if _needs_work(ctx, source, i)]
    limit = asyncio.Semaphore(ITEM_CONCURRENCY)
    errors: list[str] = []
    offload = len(todo) >= OFFLOAD_AT

    async def one(item: Item) -> Article | None:
        async with limit:
            try:
                return await _article(ctx, source, item, offload=offload)
            except SourceError as exc:
                errors.append(f"{item.url}: {exc.message}")
                return None

    built = await asyncio.gather(*(one(i) for i in todo))
    return [a for a in built if a is not None], errors


async def _article(ctx: Context, source: SourceConfig, item: Item, *, offload: bool) -> Article:
    extracted, sig, page_url = await extract_item(
        ctx.fetcher, ctx.extractor, source, item, offload=offload
    )
    return replace(_merge(ctx, source, item, extracted, page_url), signature=sig)


async def extract_item(
    fetcher: Fetcher, extractor: Extractor, source: SourceConfig, item: Item, *,
    offload: bool = False,
) -> tuple[Extracted, bytes, str]:
    """An item's text: the feed's own full text, or its fetched page (``follow: true`` forces the
    page). Returns the extraction, its MinHash signature and the page's final URL."""
    options = {"language": source.language or item.language, "timezone": source.timezone}
    if item.body_html is not None and not source.follow:
        html = f"<html><body><article>{item.body_html}</article></body></html>"
        extracted, sig = await extractor(html, item.url, offload=offload, **options)
        return extracted, sig, item.url
    page = await fetcher.get(item.url, source=source.name, discovered=True,
                             headers=source.headers)
    extracted, sig = await extractor(decode_result(page, source.encoding), page.url,
                                     offload=offload, selectors=source.article, **options)
    return extracted, sig, page.url


def choose_title(source: SourceConfig, item: Item, ex: Extracted) -> str:
    """The feed's title, or the page's when the source follows pages (or the feed has none)."""
    first, second = (ex.title, item.title) if source.follow else (item.title, ex.title)
    return (first or second or "").strip()


def _merge(ctx: Context, source: SourceConfig, item: Item, ex: Extracted, page_url: str) -> Article:
    title = choose_title(source, item, ex)
    if not title:
        raise ExtractError("no title found", source=source.name, url=page_url)
    if not ex.body.strip():
        raise ExtractError("no article text found", source=source.name, url=page_url)
    now = ctx.clock()
    published = _not_future(item.published_at, now) or _not_future(ex.published_at, now)
    return Article(
        source=source.name,
        url=dedupe.canonical_url(item.url),
        guid=item.guid,
        title=title,
        body=ex.body,
        first_seen_at=now,
        published_at=published.astimezone(UTC) if published else None,
        updated_at=_not_future(item.updated_at, now) or _not_future(ex.updated_at, now),
        language=source.language or item.language or ex.language,
        author=ex.author or item.author,
        attribution=ex.attribution,
        credit=ex.credit,
        category=ex.category or (item.categories[0] if item.categories else None),
        tags=ex.tags or item.categories,
        fingerprint=dedupe.fingerprint(title, ex.body),
        raw_hash=raw_hash(item),
    )


def _not_future(when: datetime | None, now: datetime) -> datetime | None:
    """A date past now (beyond a small clock skew) is a site's error, never a publication date."""
    return when if when is None or when <= now + SKEW else None


def _store_all(ctx: Context, articles: list[Article]) -> tuple[int, int, int]:
    """Store articles oldest first (so the first of a story is its root). Returns counts."""
    new = updated = alerts = 0
    oldest_first = sorted(
        articles, key=lambda a: (a.published_at or a.first_seen_at).timestamp()
    )
    with ctx.store.transaction():  # one commit per run; each article is its own savepoint
        for article in oldest_first:
            status, n = _store_one(ctx, article)
            new += status == "new"
            updated += status == "updated"
            alerts += n
    return new, updated, alerts


def _store_one(ctx: Context, article: Article) -> tuple[str, int]:
    """Dedupe, store, match and plan alerts in ONE transaction. Returns (status, alerts)."""
    store = ctx.store
    sig = article.signature if article.signature is not None else dedupe.signature(article.body)
    bands = dedupe.bands(sig)
    with store.transaction():
        existing = store.find_article(url=article.url, source=article.source, guid=article.guid)
        if existing is not None:
            if store.fingerprint_of(existing.id) == article.fingerprint:
                store.set_raw_hash(existing.id, article.raw_hash)  # same text, new markup
                return "unchanged", 0
            store.update_article(existing.id, replace(article, url=existing.url),
                                 signature=sig, bands=bands)
            article_id, status = existing.id, "updated"
            story_id = existing.duplicate_of or existing.id
        else:
            root = store.find_by_fingerprint(article.fingerprint)
            if root is not None:
                first = store.get_article(root)
                root = (first.duplicate_of or first.id) if first else root
            else:
                root = dedupe.find_story(store, sig)
            article_id = store.insert_article(article, duplicate_of=root, signature=sig,
                                              bands=bands)
            status, story_id = "new", root or article_id
        planned = _match(ctx, article, article_id, story_id)
    return status, planned


def _match(ctx: Context, article: Article, article_id: int, story_id: int) -> int:
    doc = Document(
        source=article.source, title=article.title, body=article.body,
        language=article.language, attribution=article.attribution, category=article.category,
    )
    planned = 0
    now = ctx.clock()
    for match in ctx.rules.match(doc):
        if not ctx.store.record_match(match.rule, article_id, match.terms):
            continue  # matched this article before: an update never alerts twice
        rule = ctx.config.rule(match.rule)
        planned += plan_alerts(ctx.store, ctx.config, rule=rule, article_id=article_id,
                               story_id=story_id, terms=match.terms, now=now)
    return planned
