"""``monitor run`` as a real process against a feed site on 127.0.0.1 that the test controls:
articles arrive, SIGHUP reloads (and refuses a bad config), SIGTERM exits 0 promptly with a sound
database, a restart runs each due source once, a failing source raises one health alert and one
recovery, and /metrics and /healthz answer."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
WORDS = (
    "ministry minister delegation agreement cooperation embassy statement talks summit treaty "
    "trade energy climate security border visit council parliament budget reform culture "
    "science education health transport harbour railway grid customs visa consular"
).split()


class FeedSite:
    """A threaded HTTP server: ``/<name>.xml`` is an RSS feed of that source's items."""

    def __init__(self) -> None:
        self.items: dict[str, list[int]] = {}
        self.status: dict[str, int] = {}
        self.delay: dict[str, float] = {}
        self.hits: dict[str, list[float]] = {}
        self.lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()  # headers and body go out as two writes: no Nagle delay
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:  # noqa: N802
                name = self.path.strip("/").removesuffix(".xml")
                with site.lock:
                    site.hits.setdefault(name, []).append(time.time())
                    status = site.status.get(name, 200)
                    items = list(site.items.get(name, []))
                    delay = site.delay.get(name, 0.0)
                if delay:
                    time.sleep(delay)
                body = site.feed(name, items).encode() if status == 200 else b"unavailable"
                self.send_response(status)
                self.send_header("Content-Type", "application/rss+xml" if status == 200
                                 else "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, name: str, *numbers: int) -> None:
        with self.lock:
            self.items.setdefault(name, []).extend(numbers)

    def count(self, name: str, since: float = 0.0) -> int:
        with self.lock:
            return sum(1 for t in self.hits.get(name, []) if t >= since)

    @staticmethod
    def text(name: str, n: int) -> str:
        rng = [WORDS[(n * 7 + i * 13 + len(name) * 3) % len(WORDS)] for i in range(60)]
        return f"Release {n} of {name}. " + " ".join(rng) + f". Reference {name}-{n}."

    def feed(self, name: str, numbers: list[int]) -> str:
        now = datetime(2026, 11, 1, tzinfo=UTC)
        items = "".join(
            f"<item><title>{name} release {n}: talks on {WORDS[n % len(WORDS)]}</title>"
            f"<link>{self.base}/{name}/{n}.html</link><guid>{name}-{n}</guid>"
            f"<pubDate>{format_datetime(now + timedelta(minutes=n))}</pubDate>"
            f"<content:encoded><![CDATA[<p>{self.text(name, n)}</p>]]></content:encoded></item>"
            for n in numbers
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
            f"<title>{name}</title><link>{self.base}/</link><description>test</description>"
            f"{items}</channel></rss>"
        )

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def site() -> Iterator[FeedSite]:
    s = FeedSite()
    yield s
    s.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(
    path: Path,
    site: FeedSite,
    sources: dict[str, str],
    *,
    db: Path,
    listen: int | None = None,
    extra: str = "",
    timeout: str = "3s",
    rules: str = "  - name: energy\n    query: energy\n    notify: [console]\n",
) -> None:
    src = "".join(
        f"  - name: {name}\n    url: {site.base}/{name}.xml\n    type: feed\n"
        f"    language: en\n    every: {every}\n"
        for name, every in sources.items()
    )
    server = f"server:\n  listen: 127.0.0.1:{listen}\n" if listen else ""
    path.write_text(
        f"storage:\n  path: {db}\n"
        f"fetch:\n  robots: false\n  retries: 0\n  timeout: {timeout}\n  delay: 0s\n  jitter: 0.1\n"
        "log:\n  level: debug\n"
        "alerts:\n  every: 1s\n"
        "health:\n  failures: 3\n  notify: [console]\n"
        f"{server}"
        f"sources:\n{src}"
        f"rules:\n{rules}"
        "channels:\n  - type: console\n    name: console\n"
        f"{extra}",
        encoding="utf-8",
    )


class Daemon:
    """``monitor run`` in a subprocess, its output in files."""

    def __init__(self, config: Path, tmp: Path, tag: str = "run") -> None:
        self.out = tmp / f"{tag}.out"
        self.err = tmp / f"{tag}.err"
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env.pop("MONITOR_CONFIG", None)
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "monitor", "run", "-c", str(config)],
                stdout=out, stderr=err, cwd=ROOT, env=env,
            )

    def stdout(self) -> str:
        return self.out.read_text(encoding="utf-8", errors="replace")

    def stderr(self) -> str:
        return self.err.read_text(encoding="utf-8", errors="replace")

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 10.0) -> tuple[int, float]:
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"no exit {timeout}s after SIGTERM\n{self.stderr()}") from None
        return code, time.monotonic() - t0

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for d in started:
        d.kill()


def wait_for(cond: Callable[[], Any], timeout: float = 10.0, what: str = "", d: Daemon | None = None
             ) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        if d is not None and d.proc.poll() is not None:
            raise AssertionError(f"daemon exited {d.proc.returncode}\n{d.stderr()}")
        time.sleep(0.1)
    log = d.stderr()[-3000:] if d else ""
    raise AssertionError(f"timed out waiting for {what}\n{log}")


def query(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    if not db.exists():
        return []
    conn = sqlite3.connect(db, timeout=10)
    try:
        return conn.execute(sql, args).fetchall()
    except sqlite3.OperationalError:  # the schema is not there yet
        return []
    finally:
        conn.close()


def articles(db: Path, source: str) -> int:
    rows = query(db, "SELECT COUNT(*) FROM articles WHERE source = ?", source)
    return int(rows[0][0]) if rows else 0


def http_get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_articles_arrive_metrics_answer_and_sigterm_exits_cleanly(
    tmp_path: Path, site: FeedSite, daemons: list[Daemon]
) -> None:
    db = tmp_path / "m.db"
    port = free_port()
    site.add("alpha", 1, 2, 3)
    site.add("beta", 10)
    config = tmp_path / "monitor.yaml"
    write_config(config, site, {"alpha": "1s", "beta": "1s"}, db=db, listen=port)
    d = Daemon(config, tmp_path)
    daemons.append(d)
    wait_for(lambda: articles(db, "alpha") == 3 and articles(db, "beta") == 1, 15, "articles", d)
    site.add("alpha", 4)  # energy is WORDS[4 % len]? not needed: a new item must simply arrive
    wait_for(lambda: articles(db, "alpha") == 4, 10, "a new item", d)

    status, body = http_get(f"http://127.0.0.1:{port}/healthz")
    assert status == 200 and body.strip() == "ok"
    status, metrics = http_get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200
    assert 'monitor_fetches_total{outcome="new",source="alpha"}' in metrics
    assert "monitor_fetch_duration_seconds_bucket" in metrics
    assert 'monitor_articles_stored_total{kind="new",source="alpha"} 4.0' in metrics
    assert 'monitor_last_success_timestamp_seconds{source="beta"}' in metrics
    assert "monitor_scheduler_running 1.0" in metrics
    assert http_get(f"http://127.0.0.1:{port}/nope")[0] == 404

    # keep it busy: an in-flight run at SIGTERM must be finished or abandoned cleanly
    code, took = d.stop()
    assert code == 0, d.stderr()
    assert took < 10
    assert "monitor stopped" in d.stderr()
    assert query(db, "PRAGMA integrity_check") == [("ok",)]
    # every run that started was logged completely: state and log agree
    runs = query(db, "SELECT COUNT(*) FROM fetch_log WHERE source = 'alpha'")[0][0]
    assert runs >= 2
    assert query(db, "SELECT next_due_at IS NOT NULL FROM sources WHERE name = 'alpha'") == [(1,)]
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_sighup_adds_a_source_and_a_bad_reload_is_refused(
    tmp_path: Path, site: FeedSite, daemons: list[Daemon]
) -> None:
    db = tmp_path / "m.db"
    site.add("alpha", 1)
    site.add("gamma", 5, 6)
    config = tmp_path / "monitor.yaml"
    write_config(config, site, {"alpha": "1s"}, db=db)
    d = Daemon(config, tmp_path)
    daemons.append(d)
    wait_for(lambda: articles(db, "alpha") == 1, 15, "alpha", d)
    pid = d.proc.pid

    # a new source and a new rule, live
    write_config(config, site, {"alpha": "1s", "gamma": "1s"}, db=db, rules=(
        "  - name: gamma-watch\n    query: gamma\n    notify: [console]\n"))
    d.signal(signal.SIGHUP)
    wait_for(lambda: articles(db, "gamma") == 2, 10, "gamma after SIGHUP", d)
    # (one alert per story: the two gamma items may be near-duplicates of each other)
    wait_for(lambda: "[monitor] gamma-watch" in d.stdout(), 10, "the new rule's alert", d)
    assert query(db, "SELECT COUNT(*) FROM alerts WHERE rule = 'energy' AND article_id IN "
                     "(SELECT id FROM articles WHERE source = 'gamma')") == [(0,)]
    assert "config reloaded: 2 sources (1 added, 0 removed, 0 changed)" in d.stderr()

    # an invalid config: refused with its error, the running one keeps working
    config.write_text(config.read_text() + "bogus_section: 1\n", encoding="utf-8")
    d.signal(signal.SIGHUP)
    wait_for(lambda: "keeping the running config" in d.stderr(), 5, "refusal", d)
    assert "bogus_section: unknown key" in d.stderr()
    site.add("alpha", 2)
    site.add("gamma", 7)
    wait_for(lambda: articles(db, "alpha") == 2 and articles(db, "gamma") == 3, 10,
             "both sources still polled", d)

    # removing a source stops its polling; new fetch settings get a new HTTP client
    write_config(config, site, {"alpha": "1s"}, db=db, timeout="4s")
    d.signal(signal.SIGHUP)
    wait_for(lambda: "1 removed" in d.stderr(), 5, "removal", d)
    time.sleep(0.5)
    since = time.time()
    time.sleep(2)
    assert site.count("gamma", since) == 0
    assert site.count("alpha", since) >= 1
    assert d.proc.pid == pid and d.proc.poll() is None
    assert d.stop()[0] == 0
    assert "Unclosed" not in d.stderr() and "Traceback" not in d.stderr()


def test_restart_after_downtime_runs_each_due_source_once(
    tmp_path: Path, site: FeedSite, daemons: list[Daemon]
) -> None:
    db = tmp_path / "m.db"
    for name in ("a", "b", "slow"):
        site.add(name, 1)
    config = tmp_path / "monitor.yaml"
    write_config(config, site, {"a": "1s", "b": "2s", "slow": "1h"}, db=db)
    first = Daemon(config, tmp_path, "first")
    daemons.append(first)
    # a new source starts within min(interval, 10 s): "slow" may take the full 10 s
    wait_for(lambda: all(articles(db, n) == 1 for n in ("a", "b", "slow")), 25, "first runs",
             first)
    assert first.stop()[0] == 0
    time.sleep(4.5)  # down for several intervals of a and b
    restarted = time.time()
    second = Daemon(config, tmp_path, "second")
    daemons.append(second)
    wait_for(lambda: site.count("a", restarted) >= 1 and site.count("b", restarted) >= 1, 10,
             "catch-up runs", second)
    # the catch-up is one run, not one per missed interval: the next comes an interval later
    time.sleep(1.0)
    first_a = min(t for t in site.hits["a"] if t >= restarted)
    first_b = min(t for t in site.hits["b"] if t >= restarted)
    assert sum(1 for t in site.hits["a"] if first_a <= t < first_a + 0.9) == 1
    assert sum(1 for t in site.hits["b"] if first_b <= t < first_b + 1.8) == 1
    # both ran right after start-up (the process may take seconds to import on a busy machine)
    ready = [ln for ln in second.stderr().splitlines() if "monitor running" in ln][0]
    ready_at = datetime.fromisoformat(ready[:19]).timestamp()  # local time, whole seconds
    assert first_a - ready_at < 3 and first_b - ready_at < 4  # b: spread over its 2s
    # "slow" is not due for an hour: a restart does not fetch it
    assert site.count("slow", restarted) == 0
    assert second.stop()[0] == 0


def test_failing_source_raises_one_health_alert_and_one_recovery(
    tmp_path: Path, site: FeedSite, daemons: list[Daemon]
) -> None:
    db = tmp_path / "m.db"
    site.add("flaky", 1)
    site.status["flaky"] = 500
    config = tmp_path / "monitor.yaml"
    write_config(config, site, {"flaky": "1s"}, db=db)
    d = Daemon(config, tmp_path)
    daemons.append(d)

    def health_rows() -> list[tuple[Any, ...]]:
        return query(db, "SELECT json_extract(payload, '$.state'), status FROM alerts "
                         "WHERE kind = 'health' ORDER BY created_at")

    wait_for(lambda: health_rows(), 15, "the health alert", d)
    assert site.count("flaky") == 3
    hits = site.hits["flaky"]
    # backoff: the third try waited about two intervals after the second
    assert hits[2] - hits[1] >= 1.8
    site.status["flaky"] = 200
    wait_for(lambda: len(health_rows()) == 2, 15, "the recovery", d)
    wait_for(lambda: all(r[1] == "sent" for r in health_rows()), 5, "delivery", d)
    time.sleep(2)  # more successful runs: nothing more is sent
    assert [r[0] for r in health_rows()] == ["failing", "ok"]
    out = d.stdout()
    assert out.count("flaky has failed 3 times in a row") == 1
    assert out.count("flaky works again") == 1
    assert articles(db, "flaky") == 1
    assert d.stop()[0] == 0

    status = subprocess.run(
        [sys.executable, "-m", "monitor", "status", "-c", str(config), "--json"],
        capture_output=True, text=True, cwd=ROOT, timeout=30,
    )
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    (row,) = data["sources"]
    assert row["source"] == "flaky" and row["state"] == "ok" and row["failures"] == 0
    assert row["articles"] == 1
    sent = query(db, "SELECT COUNT(*) FROM alerts WHERE status = 'sent'")[0][0]
    assert sent >= 2  # the health pair, and any match of the "energy" rule
    assert data["deliveries"] == [{"channel": "console", "pending": 0, "sent": sent, "dead": 0}]
    table = subprocess.run(
        [sys.executable, "-m", "monitor", "status", "-c", str(config)],
        capture_output=True, text=True, cwd=ROOT, timeout=30,
    )
    assert table.returncode == 0, table.stderr
    header, line = table.stdout.splitlines()[:2]
    assert header.split()[:3] == ["SOURCE", "STATE", "LAST"]
    assert line.split()[:2] == ["flaky", "ok"]
    assert "CHANNEL" in table.stdout and "console" in table.stdout


def test_sigterm_abandons_a_hung_fetch_and_exits_promptly(
    tmp_path: Path, site: FeedSite, daemons: list[Daemon]
) -> None:
    db = tmp_path / "m.db"
    site.add("fast", 1)
    site.add("hung", 1)
    site.delay["hung"] = 30
    config = tmp_path / "monitor.yaml"
    write_config(config, site, {"fast": "1s", "hung": "1s"}, db=db, timeout="60s")
    d = Daemon(config, tmp_path)
    daemons.append(d)
    wait_for(lambda: articles(db, "fast") == 1 and site.count("hung") == 1, 15, "in flight", d)
    code, took = d.stop()
    assert code == 0, d.stderr()
    assert took < 10
    assert "abandoned 1 run(s) still in flight" in d.stderr()
    assert query(db, "PRAGMA integrity_check") == [("ok",)]
    assert articles(db, "hung") == 0
    # the abandoned run left no half state; a restart catches it up at once
    assert query(db, "SELECT failures FROM sources WHERE name = 'hung'") == [(0,)]
