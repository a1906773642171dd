"""run_source in process, with the real Fetcher against servers on 127.0.0.1 and a real store."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sites import serve_site  # noqa: F401

from monitor.config import Config, parse_config
from monitor.pipeline import SourceReport, open_context, run_sources

FIXTURES = Path(__file__).parent / "fixtures"


class Hanging:
    """A server that accepts and never answers (until closed)."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                outer.stop.wait(10)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def config(tmp_path: Path, sources: list[dict[str, Any]], **extra: Any) -> Config:
    import json

    return parse_config(json.dumps({
        "storage": {"path": str(tmp_path / "m.db")},
        "fetch": {"timeout": "1s", "retries": 0},
        "sources": sources, **extra,
    }))


def run(cfg: Config, names: list[str] | None = None) -> dict[str, SourceReport]:
    async def go() -> list[SourceReport]:
        async with open_context(cfg) as ctx:
            chosen = [s for s in cfg.sources if names is None or s.name in names]
            return await run_sources(ctx, chosen)

    return {r.source: r for r in asyncio.run(go())}


def articles(cfg: Config) -> list[Any]:
    from monitor.store import Store

    store = Store.open(cfg.storage.path)
    try:
        return list(store.articles())
    finally:
        store.close()


def test_a_hanging_source_never_stops_the_others(tmp_path, serve_site):  # noqa: F811
    hang = Hanging()
    try:
        agency = serve_site(FIXTURES / "pipeline" / "agency")
        cfg = config(tmp_path, [
            {"name": "hangs", "url": hang.url + "/feed", "type": "feed"},
            {"name": "agency", "url": f"{agency}/rss/politics", "type": "feed"},
        ])
        t0 = time.monotonic()
        reports = run(cfg)
        elapsed = time.monotonic() - t0
    finally:
        hang.close()
    assert reports["hangs"].outcome == "error" and "timed out" in (reports["hangs"].error or "")
    assert reports["agency"].new == 2
    assert elapsed < 8
    assert len(articles(cfg)) == 2


def test_article_without_text_is_not_stored_and_is_retried(tmp_path, serve_site):  # noqa: F811
    site = shutil.copytree(FIXTURES / "pipeline" / "ministry", tmp_path / "site")
    page = site / "en" / "news" / "1790101.html"
    good = page.read_text()
    page.write_text("<html><head><title>x</title></head><body><nav>Home</nav></body></html>")
    base = serve_site(site)
    cfg = config(tmp_path, [{"name": "m", "url": f"{base}/en/rss.php", "language": "en"}])

    first = run(cfg)["m"]
    assert first.new == 1 and len(first.item_errors) == 1
    assert "no article text" in first.item_errors[0]
    assert [a.title for a in articles(cfg)] == [
        "Foreign Minister urges to take CIS security to a new level"]

    page.write_text(good)  # the feed itself did not change: no 304 may hide the retry
    second = run(cfg)["m"]
    assert second.new == 1 and second.item_errors == ()
    assert len(articles(cfg)) == 2


def test_same_text_under_another_url_points_at_the_first(tmp_path, serve_site):  # noqa: F811
    site = shutil.copytree(FIXTURES / "pipeline" / "ministry", tmp_path / "mirror")
    feed = site / "en" / "rss.xml"
    feed.write_text(feed.read_text().replace("mfa-", "mirror-"))
    original = serve_site(FIXTURES / "pipeline" / "ministry")
    mirror = serve_site(site)
    cfg = config(tmp_path, [
        {"name": "ministry", "url": f"{original}/en/rss.php"},
        {"name": "mirror", "url": f"{mirror}/en/rss.php"},
    ])
    run(cfg, ["ministry"])
    run(cfg, ["mirror"])
    rows = articles(cfg)
    assert len(rows) == 4
    by_source = {(a.source, a.title): a for a in rows}
    for title in {a.title for a in rows}:
        first, copy = by_source[("ministry", title)], by_source[("mirror", title)]
        assert first.duplicate_of is None and copy.duplicate_of == first.id


def test_update_alerts_only_when_it_first_makes_a_rule_match(tmp_path, serve_site):  # noqa: F811
    site = shutil.copytree(FIXTURES / "pipeline" / "agency", tmp_path / "agency")
    base = serve_site(site)
    cfg = config(
        tmp_path,
        [{"name": "agency", "url": f"{base}/rss/politics", "type": "feed", "language": "en"}],
        rules=[{"name": "defence", "keywords": ["defence spending"], "notify": ["out"]},
               {"name": "budget", "keywords": ["budget"], "notify": ["out"]}],
        channels=[{"name": "out", "type": "console"}],
    )
    from monitor.store import Store

    run(cfg)
    feed = site / "politics.xml"
    feed.write_text(feed.read_text().replace(
        "after the vote.", "after the vote. Defence spending stays flat."))
    assert run(cfg)["agency"].updated == 1
    store = Store.open(cfg.storage.path)
    try:
        planned = sorted((a.rule or "") for a in store.alerts())
    finally:
        store.close()
    # budget matched at first sight and again after the update: one alert; defence: one, late
    assert planned == ["budget", "defence"]


@pytest.mark.parametrize("body", [
    b"<rss><channel><item><title>broken",  # malformed XML
    b"",  # empty
    b"\x00\x01\x02garbage",
])
def test_bad_feeds_fail_cleanly(tmp_path, body):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("content-type", "application/rss+xml")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/rss"
        report = run(config(tmp_path, [{"name": "bad", "url": url, "type": "feed"}]))["bad"]
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert report.outcome == "error" and report.error
    assert "internal error" not in report.error
    assert articles(config(tmp_path, [])) == []


def test_unchanged_full_text_entries_are_not_extracted_again(tmp_path, serve_site, monkeypatch):  # noqa: F811
    import monitor.workers as workers

    site = shutil.copytree(FIXTURES / "pipeline" / "agency", tmp_path / "agency")
    base = serve_site(site)
    cfg = config(tmp_path, [{"name": "a", "url": f"{base}/rss/politics", "type": "feed"}])
    calls: list[str] = []
    real = workers.extract_article

    def counting(html: str, url: str, **kw: Any) -> Any:
        calls.append(url)
        return real(html, url, **kw)

    monkeypatch.setattr(workers, "extract_article", counting)
    assert run(cfg)["a"].new == 2 and len(calls) == 2
    feed = site / "politics.xml"
    # a new channel title changes the ETag (a 200, not a 304) but no entry
    feed.write_text(feed.read_text().replace("News agency: politics", "Agency | Politics"))
    report = run(cfg)["a"]
    assert report.outcome == "unchanged" and len(calls) == 2
    feed.write_text(feed.read_text().replace("final reading", "final reading (corrected)"))
    assert run(cfg)["a"].updated == 1 and len(calls) == 3


def test_a_feed_date_in_the_future_is_not_a_publication_date(tmp_path, serve_site):  # noqa: F811
    site = shutil.copytree(FIXTURES / "pipeline" / "ministry", tmp_path / "future")
    feed = site / "en" / "rss.xml"
    feed.write_text(feed.read_text().replace("Wed, 08 Dec 2021 14:30:00 +0300",
                                             "Fri, 08 Dec 2099 14:30:00 +0300"))
    base = serve_site(site)
    cfg = config(tmp_path, [{"name": "m", "url": f"{base}/en/rss.php"}])
    run(cfg)
    dates = {a.title[:20]: a.published_at for a in articles(cfg)}
    # the page's own article:published_time is used instead of the feed's impossible date
    assert dates["Foreign Minister urg"] == "2021-12-08T11:30:00+00:00"
    assert dates["Press release on con"] == "2021-12-08T13:05:00+00:00"
