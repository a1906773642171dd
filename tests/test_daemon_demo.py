"""``monitor demo``: the bundled site publishes, the daemon alerts live on the console."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import feedparser

from monitor.demo import DemoSite

ROOT = Path(__file__).resolve().parents[1]


def test_demo_site_publishes_feed_and_pages() -> None:
    site = DemoSite(every=0.2, backlog=3).start()
    try:
        with urllib.request.urlopen(site.url + "/feed.xml", timeout=5) as r:
            etag = r.headers["ETag"]
            feed = feedparser.parse(r.read())
        assert len(feed.entries) >= 3
        first = feed.entries[-1]
        assert first.link == site.url + "/releases/1.html" and first.content[0].value
        with urllib.request.urlopen(first.link, timeout=5) as r:
            page = r.read().decode()
        assert f"<h1>{first.title}</h1>" in page.replace("&#x27;", "'")
        req = urllib.request.Request(site.url + "/feed.xml", headers={"If-None-Match": etag})
        time.sleep(0.25)  # a new release appeared: the ETag moved on, so this is a 200
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.status == 200 and r.headers["ETag"] != etag
        texts = {site.release(n).paragraphs for n in range(1, 40)}
        assert len(texts) == 39  # every release reads differently
        assert site.release(5) == site.release(5)
    finally:
        site.stop()


def test_monitor_demo_prints_alerts() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "demo", "--every", "1", "--poll", "1",
         "--duration", "6"],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "demo site: http://127.0.0.1:" in proc.stdout
    assert "[monitor] " in proc.stdout  # an alert block from the console channel
    assert "Rule: climate-and-energy" in proc.stdout or "Rule: sanctions" in proc.stdout
    assert "monitor stopped" in proc.stderr
