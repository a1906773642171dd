"""End to end: ``monitor once`` as a subprocess against fixture sites on 127.0.0.1, read back
with ``monitor export``; alerts to a real webhook receiver."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sites import serve_site  # noqa: F401

from monitor.store import Store

FIXTURES = Path(__file__).parent / "fixtures"
SECRET = "whsec_" + base64.b64encode(b"e2e-secret-key-0123456789").decode()


class Receiver:
    """A webhook receiver that records every POST."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                outer.posts.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def monitor(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args], capture_output=True, text=True, timeout=120
    )


def export(cfg: Path) -> list[dict[str, Any]]:
    out = monitor("export", "-c", str(cfg), "--format", "jsonl")
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def verify(headers: dict[str, str], body: bytes) -> bool:
    """Standard Webhooks, written here independently of monitor's signer."""
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        part.split(",", 1)[1] == expected for part in headers["webhook-signature"].split()
    )


@pytest.fixture
def setup(tmp_path, serve_site, receiver):  # noqa: F811
    ministry = shutil.copytree(FIXTURES / "pipeline" / "ministry", tmp_path / "ministry")
    agency = shutil.copytree(FIXTURES / "pipeline" / "agency", tmp_path / "agency")
    m, a = serve_site(ministry), serve_site(agency)
    blocked = serve_site(FIXTURES / "sites" / "wpblog")
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text(json.dumps({
        "storage": {"path": str(tmp_path / "monitor.db")},
        "fetch": {"timeout": "5s", "retries": 0},
        "sources": [
            {"name": "ministry", "url": f"{m}/en/rss.php", "language": "en",
             "timezone": "Europe/Moscow"},
            {"name": "agency", "url": f"{a}/rss/politics", "type": "feed", "language": "en"},
            {"name": "blocked", "url": f"{blocked}/feed/", "type": "feed"},
        ],
        "rules": [{"name": "cis", "query": "CIS AND (security OR Afghanistan) NOT football",
                   "notify": ["hook"]}],
        "channels": [{"name": "hook", "type": "webhook", "url": receiver.url,
                      "secret": SECRET}],
    }))
    return cfg, agency


def test_once_stores_dedupes_alerts_and_exports(setup, receiver, tmp_path):
    cfg, agency = setup
    # the ministry first, so it is the story's original; alerts wait in the outbox
    first = monitor("once", "-c", str(cfg), "--source", "ministry", "--no-send")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "ministry: 2 new, 0 updated"
    assert receiver.posts == []

    run = monitor("once", "-c", str(cfg))
    assert run.returncode == 1  # one source failed; the others are stored
    lines = sorted(run.stdout.splitlines())
    assert "agency: 2 new, 0 updated" in lines
    assert "ministry: unchanged (not modified)" in lines
    blocked = next(x for x in lines if x.startswith("blocked:"))
    assert "FAILED" in blocked and "HTML page instead of a feed" in blocked

    rows = {r["title"]: r for r in export(cfg)}
    assert len(rows) == 4
    cis = rows["Foreign Minister urges to take CIS security to a new level"]
    assert cis["url"].endswith("/en/news/1790100/")  # utm_* parameters removed
    assert cis["published_at"] == "2021-12-08T11:30:00+00:00"
    assert cis["attribution"] == "Based on materials from TASS"
    assert cis["credit"] == "Photo: Ministry of Foreign Affairs"
    assert "TASS" not in cis["body"] and "Photo:" not in cis["body"]
    assert "\n\n" in cis["body"]  # paragraphs kept
    assert cis["duplicate_of"] is None and cis["first_seen_at"]
    copy = rows["Top diplomat calls for stronger CIS security amid Afghan crisis"]
    assert copy["duplicate_of"] == cis["id"]  # the agency copy joins the ministry's story
    assert rows["Parliament approves the federal budget in the third reading"][
        "duplicate_of"] is None

    # one alert for the story, signed, listing the other outlet
    assert len(receiver.posts) == 1
    headers, body = receiver.posts[0]
    assert verify(headers, body)
    payload = json.loads(body)
    assert payload["rule"]["name"] == "cis" and payload["article"]["id"] == cis["id"]
    assert any(copy["url"] == (o.get("url") if isinstance(o, dict) else o)
               for o in payload["also"])

    # nothing new: nothing stored twice, no alert again
    again = monitor("once", "-c", str(cfg), "--source", "ministry", "--source", "agency")
    assert again.returncode == 0
    assert len(export(cfg)) == 4 and len(receiver.posts) == 1

    # an entry whose text changed is updated in place; the old text is kept as a revision
    feed = agency / "politics.xml"
    feed.write_text(feed.read_text().replace(
        "the chairman of the budget committee told reporters after the vote.",
        "the chairman of the budget committee told reporters. Defence spending stays flat."))
    upd = monitor("once", "-c", str(cfg), "--source", "agency")
    assert upd.stdout.strip() == "agency: 0 new, 1 updated", upd.stdout
    rows2 = {r["title"]: r for r in export(cfg)}
    budget = rows2["Parliament approves the federal budget in the third reading"]
    assert "Defence spending stays flat." in budget["body"]
    store = Store.open(tmp_path / "monitor.db")
    try:
        revs = store.revisions(budget["id"])
    finally:
        store.close()
    assert len(revs) == 1 and "Defence" not in revs[0]["body"]


def test_config_error_exits_2_with_file_and_line(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("sources:\n  - name: a\n    url: http://127.0.0.1:9/\n    evry: 5m\n")
    out = monitor("once", "-c", str(cfg))
    assert out.returncode == 2
    assert f"{cfg}:4: sources[0] (a).evry: unknown key" in out.stderr
    assert "Traceback" not in out.stderr


def test_unknown_source_name_is_a_usage_error(setup):
    cfg, _ = setup
    out = monitor("once", "-c", str(cfg), "--source", "nope")
    assert out.returncode == 2 and "no source named 'nope'" in out.stderr
