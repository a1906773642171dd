"""``monitor status``: per-source health and counts, outbox per channel, no secrets."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.commands.status import ago, collect, render
from monitor.config import load_config
from monitor.logsetup import clear_secrets
from monitor.store import Store

CONFIG = """
storage:
  path: {db}
health:
  failures: 2
sources:
  - name: good
    url: http://127.0.0.1:1/good.xml
    every: 10m
  - name: bad
    url: http://127.0.0.1:1/bad.xml
    every: 10m
    headers: {{Authorization: "Bearer tok-sekrit-123456"}}
  - name: quiet
    url: http://127.0.0.1:1/quiet.xml
    stale_after: 1h
  - name: unborn
    url: http://127.0.0.1:1/new.xml
channels:
  - type: webhook
    name: hook
    url: https://hooks.example.org/x
    secret: whsec_QUJDREVGR0hJSktMTU5PUA==
  - type: console
    name: console
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    clear_secrets()
    path = tmp_path / "monitor.yaml"
    path.write_text(CONFIG.format(db=tmp_path / "m.db"), encoding="utf-8")
    store = Store.open(tmp_path / "m.db")
    try:
        now = datetime.now(UTC)
        store.record_run("good", started_at=now, outcome="ok", new=2)
        store.set_next_due("good", now + timedelta(minutes=7))
        for _ in range(3):
            store.record_run(
                "bad", started_at=now, outcome="error",
                error="HTTP 401 (https://reader:pa55-word@127.0.0.1:1/bad.xml) "
                      "sent Bearer tok-sekrit-123456",
            )
        store.record_run("quiet", started_at=now, outcome="ok", new=1)
        store.conn.execute(
            "UPDATE sources SET last_new_at = ? WHERE name = 'quiet'",
            ((now - timedelta(hours=3)).isoformat(),),
        )
        store.conn.commit()
        for n, channel in enumerate(["hook", "hook", "console"]):
            store.enqueue_alert(f"a{n}", channel=channel, due_at=now, kind="health",
                                payload={"source": "bad", "state": "failing", "message": "x"})
        store.record_attempt(["a1"], outcome="dead", error="410 Gone")
        store.record_attempt(["a2"], outcome="sent")
    finally:
        store.close()
    return path


def test_collect_reports_each_source(config_file: Path) -> None:
    data = collect(load_config(config_file))
    rows = {r["source"]: r for r in data["sources"]}
    assert [r["source"] for r in data["sources"]] == ["good", "bad", "quiet", "unborn"]
    assert rows["good"]["state"] == "ok" and rows["good"]["failures"] == 0
    assert rows["good"]["next_run"] is not None and rows["good"]["last_success"] is not None
    assert rows["bad"]["state"] == "failing" and rows["bad"]["failures"] == 3
    assert rows["quiet"]["state"] == "stale"
    assert rows["unborn"]["state"] == "new" and rows["unborn"]["last_run"] is None
    assert data["deliveries"] == [
        {"channel": "hook", "pending": 1, "sent": 0, "dead": 1},
        {"channel": "console", "pending": 0, "sent": 1, "dead": 0},
    ]


def test_status_never_prints_secrets(config_file: Path, capsys: pytest.CaptureFixture[str]
                                     ) -> None:
    assert main(["status", "-c", str(config_file)]) == 0
    table = capsys.readouterr().out
    assert main(["status", "-c", str(config_file), "--json"]) == 0
    as_json = capsys.readouterr().out
    for out in (table, as_json):
        assert "pa55-word" not in out and "tok-sekrit-123456" not in out
        assert "QUJDREVGR0hJSktMTU5PUA" not in out
    assert "HTTP 401" in table
    lines = table.splitlines()
    assert lines[0].split()[:2] == ["SOURCE", "STATE"]
    assert lines[2].split()[:2] == ["bad", "failing"]
    data = json.loads(as_json)
    assert {r["source"] for r in data["sources"]} == {"good", "bad", "quiet", "unborn"}


def test_render_and_ago() -> None:
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert ago(None, now) == "-"
    assert ago("2026-11-28T11:57:00+00:00", now) == "3m ago"
    assert ago("2026-11-28T12:00:12+00:00", now) == "in 12s"
    assert ago("2026-11-26T11:00:00+00:00", now) == "2d ago"
    data = {"sources": [], "deliveries": []}
    assert render(data, now) == "no sources in the config"
