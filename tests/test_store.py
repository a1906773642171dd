from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from monitor.models import Article, Validators
from monitor.store import Store


def article(url: str = "https://mid.ru/a/1", body: str = "Text one.", **kw) -> Article:
    base = dict(
        source="mfa-ru", url=url, title="Title", body=body,
        first_seen_at=datetime(2021, 12, 8, 12, tzinfo=UTC), fingerprint=body,
    )
    base.update(kw)
    return Article(**base)  # type: ignore[arg-type]


def test_wal_and_migrations_are_idempotent(tmp_path):
    path = tmp_path / "m.db"
    Store.open(path).close()
    s = Store.open(path)  # second open applies nothing new
    assert s.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    names = [r[0] for r in s.conn.execute("SELECT name FROM _sqlite_migrations")]
    assert names == ["m001_initial", "m002_raw_hash"]
    s.close()


def test_insert_find_and_update_keeps_revision(store: Store):
    aid = store.insert_article(article(guid="g1"))
    assert store.find_article(url="https://mid.ru/a/1").id == aid  # type: ignore[union-attr]
    assert store.find_article(source="mfa-ru", guid="g1").id == aid  # type: ignore[union-attr]
    store.update_article(aid, article(body="Text two, longer.", fingerprint="fp2"))
    got = store.get_article(aid)
    assert got is not None and got.body == "Text two, longer."
    revs = store.revisions(aid)
    assert [r["body"] for r in revs] == ["Text one."]
    assert store.search("longer")[0].id == aid
    assert store.search("one") == []  # FTS follows the update


def test_transaction_rolls_back_everything(store: Store):
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.insert_article(article())
            store.record_match("r", 1, ["x"])
            raise RuntimeError("boom")
    assert list(store.articles()) == []
    assert not store.has_match("r", 1)


def test_same_url_twice_is_refused(store: Store):
    store.insert_article(article())
    with pytest.raises(sqlite3.IntegrityError):
        store.insert_article(article())


def test_record_run_counts_failures_and_resets(store: Store):
    now = datetime.now(UTC)
    for _ in range(3):
        st = store.record_run("s", started_at=now, outcome="error", error="HTTP 503")
    assert st.failures == 3 and st.last_error == "HTTP 503"
    st = store.record_run("s", started_at=now, outcome="ok", new=2,
                          validators=Validators('"e1"', None), count=5)
    assert st.failures == 0 and st.validators.etag == '"e1"' and st.last_count == 5
    assert st.last_new_at is not None
    log = store.conn.execute("SELECT outcome FROM fetch_log ORDER BY id").fetchall()
    assert [r[0] for r in log] == ["error"] * 3 + ["ok"]


def test_outbox_roundtrip(store: Store):
    aid = store.insert_article(article())
    now = datetime.now(UTC)
    assert store.enqueue_alert("a1", channel="desk", due_at=now, rule="r", article_id=aid,
                               story_id=aid)
    assert not store.enqueue_alert("a1", channel="desk", due_at=now, rule="r")  # once per id
    assert [a.id for a in store.due_alerts(now)] == ["a1"]
    store.record_attempt(["a1"], outcome="retry", error="421", next_due=now + timedelta(hours=1))
    assert store.due_alerts(now) == []
    store.record_attempt(["a1"], outcome="sent")
    row = store.get_alert("a1")
    assert row is not None and row.status == "sent" and row.attempts == 2
    assert [a["outcome"] for a in store.attempts("a1")] == ["retry", "sent"]
    assert store.alert_counts() == {"desk": {"pending": 0, "sent": 1, "dead": 0}}
