"""Webhook channel against a real HTTP server on 127.0.0.1: signing, outcomes, Slack shape."""

from __future__ import annotations

import asyncio
import base64
import hmac
import time
from datetime import timedelta

from test_alerts_support import NOW, Reply, add_article, make_config, plan, receiver

from monitor.alerts import deliver_due
from monitor.store import Store
from monitor.timeutil import iso, parse_iso

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def hook(url: str, **kw: object) -> dict[str, object]:
    return {"name": "hook", "type": "webhook", "url": url, **kw}


def run(store: Store, config, now=NOW):  # type: ignore[no-untyped-def]
    return asyncio.run(deliver_due(store, config, now=now))


def verify_standard_webhook(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Standard Webhooks verification written from the spec, independent of monitor's signer."""
    key = base64.standard_b64decode(secret.split("_", 1)[1])
    msg_id, ts = headers["webhook-id"], headers["webhook-timestamp"]
    content = msg_id.encode() + b"." + ts.encode() + b"." + body
    expected = base64.standard_b64encode(hmac.digest(key, content, "sha256")).decode()
    for item in headers["webhook-signature"].split(" "):
        version, _, sig = item.partition(",")
        if version == "v1" and hmac.compare_digest(sig, expected):
            return True
    return False


def test_signed_json_post_verifies_with_an_independent_implementation(store: Store):
    with receiver() as r:
        cfg = make_config([hook(r.url, secret=SECRET, headers={"X-Desk": "europe"})])
        story = add_article(store)
        add_article(store, source="tass", url="https://tass.com/politics/1", duplicate_of=story)
        assert plan(store, cfg, story) == 1
        report = run(store, cfg)
    assert (report.sent, report.retry, report.dead) == (1, 0, 0)
    [got] = r.received
    assert verify_standard_webhook(SECRET, got.headers, got.body)
    # a tampered body or another key does not verify
    assert not verify_standard_webhook(SECRET, got.headers, got.body.replace(b"sanctions", b"x"))
    other = "whsec_" + base64.b64encode(b"another key of 32 bytes........").decode()
    assert not verify_standard_webhook(other, got.headers, got.body)
    assert abs(int(got.headers["webhook-timestamp"]) - time.time()) < 30
    assert got.headers["x-desk"] == "europe"
    assert got.headers["content-type"] == "application/json"
    data = got.json
    [alert] = store.alerts()
    assert data["id"] == got.headers["webhook-id"] == alert.id
    assert data["type"] == "alert"
    assert data["rule"] == {"name": "sanctions", "query": "sanctions"}
    art = data["article"]
    assert set(art) == {"id", "url", "title", "source", "published_at", "language", "snippet"}
    assert art["url"] == "https://mid.ru/en/foreign_policy/news/1798631/"
    assert art["published_at"] == "2021-12-08T11:30:00+00:00"
    assert "sanctions" in art["snippet"]
    assert data["matched"] == ["sanctions"]
    assert data["also"] == [
        {"source": "tass", "url": "https://tass.com/politics/1",
         "title": "Statement on new sanctions against shipping companies"}
    ]
    assert alert.status == "sent"


def test_500_is_retried_with_the_same_id_then_sent(store: Store):
    with receiver(Reply(500, body=b"upstream broke")) as r:
        cfg = make_config([hook(r.url, secret=SECRET)])
        plan(store, cfg, add_article(store))
        first = run(store, cfg)
        [alert] = store.alerts()
        assert (first.retry, alert.status, alert.attempts) == (1, "pending", 1)
        assert "HTTP 500" in (alert.last_error or "") and "upstream broke" in alert.last_error
        due = parse_iso(alert.due_at)
        assert due is not None and NOW + timedelta(seconds=10) <= due <= NOW + timedelta(minutes=2)
        assert run(store, cfg, now=NOW + timedelta(seconds=5)).total == 0  # not due yet
        second = run(store, cfg, now=due)
    assert second.sent == 1
    ids = [x.headers["webhook-id"] for x in r.received]
    assert ids == [alert.id, alert.id]
    assert all(verify_standard_webhook(SECRET, x.headers, x.body) for x in r.received)
    assert [a["outcome"] for a in store.attempts(alert.id)] == ["retry", "sent"]


def test_timeout_is_retried(store: Store):
    with receiver(Reply(200, delay=2.0)) as r:
        cfg = make_config([hook(r.url, timeout="0.3s")])
        plan(store, cfg, add_article(store))
        t0 = time.monotonic()
        report = run(store, cfg)
        assert time.monotonic() - t0 < 1.8
    [alert] = store.alerts()
    assert report.retry == 1 and alert.status == "pending"
    assert "timed out" in (alert.last_error or "")


def test_429_retry_after_sets_the_next_attempt(store: Store):
    with receiver(Reply(429, headers={"Retry-After": "120"})) as r:
        cfg = make_config([hook(r.url)])
        plan(store, cfg, add_article(store))
        report = run(store, cfg)
        assert len(r.received) == 1
    [alert] = store.alerts()
    assert report.retry == 1
    assert alert.due_at == iso(NOW + timedelta(seconds=120))
    assert "429" in (alert.last_error or "")


def test_503_with_http_date_retry_after(store: Store):
    from email.utils import format_datetime

    from monitor.timeutil import utcnow

    when = format_datetime(utcnow() + timedelta(hours=1), usegmt=True)
    with receiver(Reply(503, headers={"Retry-After": when})) as r:
        cfg = make_config([hook(r.url)])
        plan(store, cfg, add_article(store))
        from monitor.alerts import webhook

        assert 3590 <= (webhook.retry_after(when) or 0) <= 3600
        run(store, cfg)
    [alert] = store.alerts()
    assert alert.status == "pending"
    due = parse_iso(alert.due_at)
    assert due is not None
    assert NOW + timedelta(minutes=59) <= due <= NOW + timedelta(minutes=60)


def test_redirect_is_not_followed_and_is_a_failed_attempt(store: Store):
    with receiver(Reply(302, headers={"Location": "/moved"})) as r:
        cfg = make_config([hook(r.url)])
        plan(store, cfg, add_article(store))
        report = run(store, cfg)
        paths = [x.path for x in r.received]
    [alert] = store.alerts()
    assert paths == ["/hook"]  # /moved was never requested
    assert report.retry == 1 and alert.status == "pending"
    assert "302" in (alert.last_error or "") and "not followed" in alert.last_error
    assert "/moved" in alert.last_error


def test_410_is_dead_and_never_retried(store: Store):
    with receiver(Reply(410)) as r:
        cfg = make_config([hook(r.url)])
        plan(store, cfg, add_article(store))
        report = run(store, cfg)
        later = run(store, cfg, now=NOW + timedelta(days=1))
        assert len(r.received) == 1
    [alert] = store.alerts()
    assert (report.dead, later.total) == (1, 0)
    assert alert.status == "dead" and "410" in (alert.last_error or "")


def test_other_4xx_is_dead_but_408_is_retried(store: Store):
    with receiver(Reply(404), Reply(408)) as r:
        cfg = make_config([hook(r.url)])
        plan(store, cfg, add_article(store))
        plan(store, cfg, add_article(store, url="https://mid.ru/en/2"))
        report = run(store, cfg)
        assert len(r.received) == 2
    assert (report.dead, report.retry) == (1, 1)


def test_slack_format(store: Store):
    with receiver() as r:
        cfg = make_config([hook(r.url, format="slack")])
        story = add_article(store, title="Sanctions <update> & more")
        add_article(store, source="tass", url="https://tass.com/2", duplicate_of=story)
        plan(store, cfg, story)
        assert run(store, cfg).sent == 1
    data = r.received[0].json
    assert set(data) == {"text", "blocks"}
    assert "Sanctions &lt;update&gt; &amp; more" in data["text"] or "Sanctions" in data["text"]
    section = data["blocks"][0]
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    text = section["text"]["text"]
    link = "<https://mid.ru/en/foreign_policy/news/1798631/|Sanctions &lt;update&gt; &amp; more>"
    assert link in text
    assert "*sanctions*" in text
    assert "<https://tass.com/2|tass>" in text


def test_health_alert_body(store: Store):
    with receiver() as r:
        cfg = make_config([hook(r.url, secret=SECRET)])
        store.enqueue_alert(
            "health-1", channel="hook", due_at=NOW, kind="health",
            payload={"source": "mfa-ru", "state": "failing", "message": "3 errors in a row: 503"},
        )
        assert run(store, cfg).sent == 1
    got = r.received[0]
    assert got.json == {"id": "health-1", "type": "health", "source": "mfa-ru",
                        "state": "failing", "message": "3 errors in a row: 503"}
    assert verify_standard_webhook(SECRET, got.headers, got.body)


def test_connection_refused_is_retried(store: Store):
    from test_alerts_support import free_port

    cfg = make_config([hook(f"http://127.0.0.1:{free_port()}/hook")])
    plan(store, cfg, add_article(store))
    report = run(store, cfg)
    [alert] = store.alerts()
    assert report.retry == 1 and "cannot reach" in (alert.last_error or "")
