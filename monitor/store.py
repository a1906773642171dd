"""SQLite storage (sqlite-utils): the schema, its migrations, and the only SQL in monitor.

One writer: write transactions begin with ``BEGIN IMMEDIATE`` (``Store.transaction()``), nest as
savepoints, and the file runs in WAL mode so readers (``status``, ``export``) never block it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlite_utils
from sqlite_utils.migrations import Migrations

from monitor.errors import StorageError
from monitor.models import Article, StoredArticle, Validators
from monitor.timeutil import iso, utcnow

migrations = Migrations("monitor")


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE sources (
            name TEXT PRIMARY KEY,
            etag TEXT, last_modified TEXT,
            last_run_at TEXT, next_due_at TEXT, last_success_at TEXT,
            last_error TEXT, failures INTEGER NOT NULL DEFAULT 0,
            last_new_at TEXT, last_count INTEGER,
            health TEXT NOT NULL DEFAULT 'ok'
        );
        CREATE TABLE articles (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            url TEXT NOT NULL UNIQUE,
            guid TEXT,
            title TEXT NOT NULL,
            body TEXT NOT NULL,
            published_at TEXT, updated_at TEXT,
            first_seen_at TEXT NOT NULL,
            last_changed_at TEXT,
            language TEXT, author TEXT, attribution TEXT, credit TEXT, category TEXT,
            tags TEXT NOT NULL DEFAULT '[]',
            fingerprint TEXT NOT NULL,
            signature BLOB,
            duplicate_of INTEGER REFERENCES articles(id),
            revision INTEGER NOT NULL DEFAULT 1
        );
        CREATE INDEX articles_guid ON articles(source, guid);
        CREATE INDEX articles_fingerprint ON articles(fingerprint);
        CREATE INDEX articles_seen ON articles(first_seen_at);
        CREATE INDEX articles_dup ON articles(duplicate_of);
        CREATE TABLE article_bands (
            band TEXT NOT NULL, article_id INTEGER NOT NULL REFERENCES articles(id),
            PRIMARY KEY (band, article_id)
        ) WITHOUT ROWID;
        CREATE TABLE revisions (
            id INTEGER PRIMARY KEY,
            article_id INTEGER NOT NULL REFERENCES articles(id),
            revision INTEGER NOT NULL,
            title TEXT NOT NULL, body TEXT NOT NULL, fingerprint TEXT NOT NULL,
            replaced_at TEXT NOT NULL
        );
        CREATE INDEX revisions_article ON revisions(article_id);
        CREATE TABLE fetch_log (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            started_at TEXT NOT NULL, finished_at TEXT NOT NULL,
            outcome TEXT NOT NULL,
            new INTEGER NOT NULL DEFAULT 0, updated INTEGER NOT NULL DEFAULT 0,
            error TEXT
        );
        CREATE INDEX fetch_log_source ON fetch_log(source, started_at);
        CREATE TABLE matches (
            rule TEXT NOT NULL, article_id INTEGER NOT NULL REFERENCES articles(id),
            matched_at TEXT NOT NULL, terms TEXT NOT NULL DEFAULT '[]',
            PRIMARY KEY (rule, article_id)
        );
        CREATE TABLE alerts (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL DEFAULT 'match',
            rule TEXT, channel TEXT NOT NULL,
            article_id INTEGER REFERENCES articles(id),
            story_id INTEGER,
            payload TEXT NOT NULL DEFAULT '{}',
            status TEXT NOT NULL DEFAULT 'pending',
            created_at TEXT NOT NULL, due_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT, sent_at TEXT
        );
        CREATE INDEX alerts_due ON alerts(status, due_at);
        CREATE TABLE attempts (
            id INTEGER PRIMARY KEY,
            alert_id TEXT NOT NULL REFERENCES alerts(id),
            at TEXT NOT NULL, outcome TEXT NOT NULL, error TEXT
        );
        CREATE INDEX attempts_alert ON attempts(alert_id);
        """
    )
    db.table("articles").enable_fts(
        ["title", "body", "attribution"],
        create_triggers=True,
        tokenize="unicode61 remove_diacritics 2",
    )


@migrations()
def m002_raw_hash(db: sqlite_utils.Database) -> None:
    """A hash of the entry as the feed gave it, so unchanged full-text entries skip extraction."""
    db.execute("ALTER TABLE articles ADD COLUMN raw_hash TEXT")


@dataclass(frozen=True)
class SourceState:
    name: str
    validators: Validators = Validators()
    last_run_at: str | None = None
    next_due_at: str | None = None
    last_success_at: str | None = None
    last_error: str | None = None
    failures: int = 0
    last_new_at: str | None = None
    last_count: int | None = None
    health: str = "ok"


@dataclass(frozen=True)
class AlertRow:
    id: str
    kind: str
    rule: str | None
    channel: str
    article_id: int | None
    story_id: int | None
    payload: dict[str, Any]
    status: str
    created_at: str
    due_at: str
    attempts: int
    last_error: str | None
    sent_at: str | None


ARTICLE_COLUMNS = (
    "id, source, url, title, body, first_seen_at, published_at, updated_at, language, guid, "
    "duplicate_of, author, attribution, credit, category, tags"
)


def _article(row: sqlite3.Row | tuple[Any, ...]) -> StoredArticle:
    values = list(row)
    values[-1] = tuple(json.loads(values[-1] or "[]"))
    return StoredArticle(*values)


class Store:
    """The database. Open it with ``Store.open(path)``; close it with ``close()``."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self.conn = db.conn

    @classmethod
    def open(cls, path: str | Path) -> Store:
        try:
            if str(path) != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
            db = sqlite_utils.Database(conn)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA busy_timeout=30000")
            migrations.apply(db)
        except (sqlite3.Error, OSError) as exc:
            raise StorageError(f"{path}: cannot open the database: {exc}") from exc
        return cls(db)

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """A write transaction (``BEGIN IMMEDIATE``); nested calls become savepoints."""
        if self.conn.in_transaction:
            with self.db.atomic():
                yield self
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    def writable(self) -> bool:
        """True when a write transaction can be taken now (for /healthz)."""
        try:
            with self.transaction():
                self.conn.execute("UPDATE sources SET name = name WHERE 0")
            return True
        except sqlite3.Error:
            return False

    # ------------------------------------------------------------ sources

    def source_state(self, name: str) -> SourceState:
        row = self.conn.execute(
            "SELECT name, etag, last_modified, last_run_at, next_due_at, last_success_at, "
            "last_error, failures, last_new_at, last_count, health FROM sources WHERE name = ?",
            (name,),
        ).fetchone()
        if row is None:
            return SourceState(name)
        return SourceState(row[0], Validators(row[1], row[2]), *row[3:])

    def _ensure_source(self, name: str) -> None:
        self.conn.execute("INSERT INTO sources (name) VALUES (?) ON CONFLICT DO NOTHING", (name,))

    def record_run(
        self,
        name: str,
        *,
        started_at: datetime,
        outcome: str,
        new: int = 0,
        updated: int = 0,
        error: str | None = None,
        validators: Validators | None = None,
        count: int | None = None,
    ) -> SourceState:
        """Log one run and update the source's state. ``outcome``: ok, not_modified or error."""
        now = iso(utcnow())
        with self.transaction():
            self._ensure_source(name)
            self.conn.execute(
                "INSERT INTO fetch_log (source, started_at, finished_at, outcome, new, updated, "
                "error) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (name, iso(started_at), now, outcome, new, updated, error),
            )
            if outcome == "error":
                self.conn.execute(
                    "UPDATE sources SET last_run_at = ?, last_error = ?, failures = failures + 1 "
                    "WHERE name = ?",
                    (now, error, name),
                )
            else:
                self.conn.execute(
                    "UPDATE sources SET last_run_at = ?, last_success_at = ?, failures = 0, "
                    "last_new_at = CASE WHEN ? > 0 THEN ? ELSE last_new_at END, "
                    "last_count = COALESCE(?, last_count) WHERE name = ?",
                    (now, now, new, now, count, name),
                )
                if validators is not None:
                    self.conn.execute(
                        "UPDATE sources SET etag = ?, last_modified = ? WHERE name = ?",
                        (validators.etag, validators.last_modified, name),
                    )
        return self.source_state(name)

    def set_next_due(self, name: str, when: datetime | None) -> None:
        with self.transaction():
            self._ensure_source(name)
            self.conn.execute(
                "UPDATE sources SET next_due_at = ? WHERE name = ?", (iso(when), name)
            )

    def set_health(self, name: str, health: str) -> None:
        with self.transaction():
            self._ensure_source(name)
            self.conn.execute("UPDATE sources SET health = ? WHERE name = ?", (health, name))

    def source_counts(self, name: str, since: datetime) -> tuple[int, int]:
        """Articles of a source: in total, and first seen since ``since``."""
        row = self.conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(first_seen_at >= ?), 0) FROM articles WHERE source = ?",
            (iso(since), name),
        ).fetchone()
        return int(row[0]), int(row[1])

    # ------------------------------------------------------------ articles

    def find_article(
        self, *, url: str | None = None, source: str | None = None, guid: str | None = None
    ) -> StoredArticle | None:
        """By canonical URL, or by the GUID a source gave it."""
        if guid and source:
            row = self.conn.execute(
                f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE source = ? AND guid = ?",
                (source, guid),
            ).fetchone()
            if row:
                return _article(row)
        if url:
            row = self.conn.execute(
                f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE url = ?", (url,)
            ).fetchone()
            if row:
                return _article(row)
        return None

    def get_article(self, article_id: int) -> StoredArticle | None:
        row = self.conn.execute(
            f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE id = ?", (article_id,)
        ).fetchone()
        return _article(row) if row else None

    def fingerprint_of(self, article_id: int) -> str | None:
        row = self.conn.execute(
            "SELECT fingerprint FROM articles WHERE id = ?", (article_id,)
        ).fetchone()
        return row[0] if row else None

    def raw_hash_of(self, article_id: int) -> str | None:
        row = self.conn.execute(
            "SELECT raw_hash FROM articles WHERE id = ?", (article_id,)
        ).fetchone()
        return row[0] if row else None

    def set_raw_hash(self, article_id: int, raw_hash: str | None) -> None:
        with self.transaction():
            self.conn.execute(
                "UPDATE articles SET raw_hash = ? WHERE id = ?", (raw_hash, article_id)
            )

    def find_by_fingerprint(self, fingerprint: str) -> int | None:
        """The first article stored with this exact text fingerprint."""
        row = self.conn.execute(
            "SELECT id FROM articles WHERE fingerprint = ? ORDER BY id LIMIT 1", (fingerprint,)
        ).fetchone()
        return int(row[0]) if row else None

    def band_candidates(
        self, bands: Sequence[str], limit: int = 500
    ) -> list[tuple[int, bytes | None]]:
        """Articles sharing LSH bands: (id, signature), those sharing the most bands first.

        ``limit`` keeps the cost flat when thousands of releases share a boilerplate band.
        """
        if not bands:
            return []
        marks = ",".join("?" * len(bands))
        rows = self.conn.execute(
            f"SELECT a.id, a.signature FROM (SELECT article_id, COUNT(*) AS shared "
            f"FROM article_bands WHERE band IN ({marks}) GROUP BY article_id "
            f"ORDER BY shared DESC, article_id LIMIT ?) c JOIN articles a ON a.id = c.article_id "
            f"ORDER BY c.shared DESC, a.id",
            [*bands, limit],
        ).fetchall()
        return [(int(r[0]), r[1]) for r in rows]

    def article_ref(self, article_id: int) -> tuple[str, int | None] | None:
        """An article's source and ``duplicate_of``, without reading its text."""
        row = self.conn.execute(
            "SELECT source, duplicate_of FROM articles WHERE id = ?", (article_id,)
        ).fetchone()
        return (row[0], row[1]) if row else None

    def insert_article(
        self,
        article: Article,
        *,
        duplicate_of: int | None = None,
        signature: bytes | None = None,
        bands: Sequence[str] = (),
    ) -> int:
        with self.transaction():
            cur = self.conn.execute(
                "INSERT INTO articles (source, url, guid, title, body, published_at, updated_at, "
                "first_seen_at, language, author, attribution, credit, category, tags, "
                "fingerprint, signature, duplicate_of, raw_hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    article.source, article.url, article.guid, article.title, article.body,
                    iso(article.published_at), iso(article.updated_at),
                    iso(article.first_seen_at), article.language, article.author,
                    article.attribution, article.credit, article.category,
                    json.dumps(list(article.tags), ensure_ascii=False), article.fingerprint,
                    signature, duplicate_of, article.raw_hash,
                ),
            )
            article_id = int(cur.lastrowid or 0)
            self.conn.executemany(
                "INSERT INTO article_bands (band, article_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                [(b, article_id) for b in bands],
            )
        return article_id

    def update_article(
        self,
        article_id: int,
        article: Article,
        *,
        signature: bytes | None = None,
        bands: Sequence[str] = (),
    ) -> None:
        """Replace an article's text, keeping the previous text as a revision."""
        now = iso(utcnow())
        with self.transaction():
            self.conn.execute(
                "INSERT INTO revisions (article_id, revision, title, body, fingerprint, "
                "replaced_at) SELECT id, revision, title, body, fingerprint, ? FROM articles "
                "WHERE id = ?",
                (now, article_id),
            )
            self.conn.execute(
                "UPDATE articles SET title = ?, body = ?, updated_at = COALESCE(?, updated_at), "
                "published_at = COALESCE(published_at, ?), author = COALESCE(?, author), "
                "attribution = COALESCE(?, attribution), credit = COALESCE(?, credit), "
                "category = COALESCE(?, category), fingerprint = ?, "
                "signature = COALESCE(?, signature), last_changed_at = ?, "
                "raw_hash = ?, revision = revision + 1 WHERE id = ?",
                (
                    article.title, article.body, iso(article.updated_at),
                    iso(article.published_at), article.author, article.attribution,
                    article.credit, article.category, article.fingerprint, signature, now,
                    article.raw_hash, article_id,
                ),
            )
            self.conn.executemany(
                "INSERT INTO article_bands (band, article_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                [(b, article_id) for b in bands],
            )

    def revisions(self, article_id: int) -> list[dict[str, Any]]:
        cur = self.conn.execute(
            "SELECT revision, title, body, fingerprint, replaced_at FROM revisions "
            "WHERE article_id = ? ORDER BY revision",
            (article_id,),
        )
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur]

    def story_members(self, story_id: int) -> list[StoredArticle]:
        rows = self.conn.execute(
            f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE id = ? OR duplicate_of = ? ORDER BY id",
            (story_id, story_id),
        ).fetchall()
        return [_article(r) for r in rows]

    def articles(
        self,
        *,
        source: str | None = None,
        since: datetime | None = None,
        newest_first: bool = False,
    ) -> Iterator[StoredArticle]:
        where: list[str] = ["1"]
        args: list[str | None] = []
        if source:
            where.append("source = ?")
            args.append(source)
        if since:
            where.append("COALESCE(published_at, first_seen_at) >= ?")
            args.append(iso(since))
        order = "DESC" if newest_first else "ASC"
        cur = self.conn.execute(
            f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE {' AND '.join(where)} "
            f"ORDER BY id {order}",
            args,
        )
        for row in cur:
            yield _article(row)

    def search(self, query: str, limit: int = 20) -> list[StoredArticle]:
        """Full-text search (FTS5 syntax), newest first."""
        cols = ", ".join(f"a.{c.strip()}" for c in ARTICLE_COLUMNS.split(","))
        try:
            rows = self.conn.execute(
                f"SELECT {cols} FROM articles_fts f JOIN articles a ON a.rowid = f.rowid "
                "WHERE articles_fts MATCH ? "
                "ORDER BY COALESCE(a.published_at, a.first_seen_at) DESC LIMIT ?",
                (query, limit),
            ).fetchall()
        except sqlite3.OperationalError as exc:
            raise StorageError(f"bad search query {query!r}: {exc}") from exc
        return [_article(r) for r in rows]

    # ------------------------------------------------------------ matches and outbox

    def record_match(self, rule: str, article_id: int, terms: Sequence[str]) -> bool:
        """Record that a rule matched an article. False when it had matched before."""
        with self.transaction():
            cur = self.conn.execute(
                "INSERT INTO matches (rule, article_id, matched_at, terms) VALUES (?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (rule, article_id, iso(utcnow()), json.dumps(list(terms), ensure_ascii=False)),
            )
        return cur.rowcount == 1

    def has_match(self, rule: str, article_id: int) -> bool:
        return (
            self.conn.execute(
                "SELECT 1 FROM matches WHERE rule = ? AND article_id = ?", (rule, article_id)
            ).fetchone()
            is not None
        )

    def enqueue_alert(
        self,
        alert_id: str,
        *,
        channel: str,
        due_at: datetime,
        kind: str = "match",
        rule: str | None = None,
        article_id: int | None = None,
        story_id: int | None = None,
        payload: dict[str, Any] | None = None,
    ) -> bool:
        """Add an alert to the outbox. False when one with this id exists (one per story)."""
        now = iso(utcnow())
        with self.transaction():
            cur = self.conn.execute(
                "INSERT INTO alerts (id, kind, rule, channel, article_id, story_id, payload, "
                "created_at, due_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    alert_id, kind, rule, channel, article_id, story_id,
                    json.dumps(payload or {}, ensure_ascii=False), now, iso(due_at),
                ),
            )
        return cur.rowcount == 1

    _ALERT_COLUMNS = (
        "id, kind, rule, channel, article_id, story_id, payload, status, created_at, due_at, "
        "attempts, last_error, sent_at"
    )

    def _alert(self, row: tuple[Any, ...]) -> AlertRow:
        values = list(row)
        values[6] = json.loads(values[6] or "{}")
        return AlertRow(*values)

    def due_alerts(self, now: datetime, limit: int = 100) -> list[AlertRow]:
        rows = self.conn.execute(
            f"SELECT {self._ALERT_COLUMNS} FROM alerts WHERE status = 'pending' AND due_at <= ? "
            "ORDER BY due_at, created_at LIMIT ?",
            (iso(now), limit),
        ).fetchall()
        return [self._alert(r) for r in rows]

    def claim_alerts(self, now: datetime, *, until: datetime, limit: int = 100) -> list[AlertRow]:
        """Take due pending alerts for delivery: their ``due_at`` moves to ``until`` (a lease), so
        another sender leaves them alone and, if this one dies, they come due again then."""
        with self.transaction():
            rows = self.due_alerts(now, limit)
            self.conn.executemany(
                "UPDATE alerts SET due_at = ? WHERE id = ? AND status = 'pending'",
                [(iso(until), r.id) for r in rows],
            )
        return rows

    def release_alerts(self, alert_ids: Sequence[str], due_at: datetime) -> None:
        """Give claimed alerts back untried (end their lease): due again at ``due_at``."""
        with self.transaction():
            self.conn.executemany(
                "UPDATE alerts SET due_at = ? WHERE id = ? AND status = 'pending'",
                [(iso(due_at), i) for i in alert_ids],
            )

    def alerts(self, status: str | None = None, limit: int = 1000) -> list[AlertRow]:
        where, args = ("WHERE status = ?", [status]) if status else ("", [])
        rows = self.conn.execute(
            f"SELECT {self._ALERT_COLUMNS} FROM alerts {where} ORDER BY created_at DESC LIMIT ?",
            [*args, limit],
        ).fetchall()
        return [self._alert(r) for r in rows]

    def get_alert(self, alert_id: str) -> AlertRow | None:
        row = self.conn.execute(
            f"SELECT {self._ALERT_COLUMNS} FROM alerts WHERE id = ?", (alert_id,)
        ).fetchone()
        return self._alert(row) if row else None

    def record_attempt(
        self,
        alert_ids: Sequence[str],
        *,
        outcome: str,
        error: str | None = None,
        next_due: datetime | None = None,
    ) -> None:
        """Record a delivery attempt. ``outcome``: sent, retry (with ``next_due``) or dead."""
        now = iso(utcnow())
        status = {"sent": "sent", "dead": "dead", "retry": "pending"}[outcome]
        with self.transaction():
            for alert_id in alert_ids:
                self.conn.execute(
                    "INSERT INTO attempts (alert_id, at, outcome, error) VALUES (?, ?, ?, ?)",
                    (alert_id, now, outcome, error),
                )
                self.conn.execute(
                    "UPDATE alerts SET status = ?, attempts = attempts + 1, last_error = ?, "
                    "sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END, "
                    "due_at = COALESCE(?, due_at) WHERE id = ?",
                    (status, error, status, now, iso(next_due), alert_id),
                )

    def attempts(self, alert_id: str) -> list[dict[str, Any]]:
        cur = self.conn.execute(
            "SELECT at, outcome, error FROM attempts WHERE alert_id = ? ORDER BY id", (alert_id,)
        )
        return [{"at": r[0], "outcome": r[1], "error": r[2]} for r in cur]

    def alert_counts(self) -> dict[str, dict[str, int]]:
        """Per channel: how many alerts are pending, sent and dead."""
        out: dict[str, dict[str, int]] = {}
        for channel, status, n in self.conn.execute(
            "SELECT channel, status, COUNT(*) FROM alerts GROUP BY channel, status"
        ):
            out.setdefault(channel, {"pending": 0, "sent": 0, "dead": 0})[status] = n
        return out
