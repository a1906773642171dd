"""Outbox planning and delivery, rendering and its sandbox, console channel, CLI commands."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_alerts_support import (
    NOW,
    Reply,
    add_article,
    free_port,
    make_config,
    plan,
    receiver,
)

from monitor import cli
from monitor.alerts import alert_id, deliver_due
from monitor.alerts.message import Message
from monitor.alerts.outbox import LEASE, digest_window_end
from monitor.alerts.render import make_snippet, marked_html, marked_text, render
from monitor.config import Templates
from monitor.errors import PermanentDeliveryError
from monitor.store import Store
from monitor.timeutil import iso, parse_iso

CONSOLE = {"name": "screen", "type": "console"}


def run(store: Store, config, now=NOW):  # type: ignore[no-untyped-def]
    return asyncio.run(deliver_due(store, config, now=now))


# ---------------------------------------------------------------- planning


def test_one_row_per_rule_story_channel_with_stable_ids(store: Store):
    cfg = make_config([CONSOLE, {"name": "hook", "type": "webhook", "url": "http://127.0.0.1:1/"}])
    story = add_article(store)
    twin = add_article(store, source="tass", url="https://tass.com/1", duplicate_of=story)
    assert plan(store, cfg, story) == 2
    assert plan(store, cfg, twin, story_id=story) == 0  # same story: nothing new
    rows = {a.channel: a for a in store.alerts()}
    assert rows["screen"].id == alert_id("sanctions", story, "screen")
    assert rows["hook"].id == alert_id("sanctions", story, "hook")
    assert rows["screen"].id != rows["hook"].id
    assert alert_id("sanctions", story, "screen") == alert_id("sanctions", story, "screen")
    assert rows["screen"].due_at == iso(NOW)
    assert rows["screen"].payload["terms"] == ["sanctions"]


def test_plan_rolls_back_with_the_pipeline_transaction(store: Store):
    cfg = make_config([CONSOLE])
    aid = add_article(store)
    with pytest.raises(RuntimeError), store.transaction():
        from monitor.alerts import plan_alerts

        plan_alerts(store, cfg, rule=cfg.rule("sanctions"), article_id=aid, story_id=aid,
                    terms=["sanctions"], now=NOW)
        raise RuntimeError("the article insert failed later in the same transaction")
    assert store.alerts() == []


def test_digest_rows_are_due_at_the_end_of_the_window(store: Store):
    rules = [{"name": "sanctions", "query": "sanctions", "notify": ["screen"], "digest": "1h"}]
    cfg = make_config([CONSOLE], rules)
    plan(store, cfg, add_article(store), now=datetime(2021, 12, 8, 11, 42, 10, tzinfo=UTC))
    [row] = store.alerts()
    assert row.due_at == "2021-12-08T12:00:00+00:00"
    assert digest_window_end(datetime(2021, 12, 8, 12, 0, tzinfo=UTC), 3600) == datetime(
        2021, 12, 8, 13, 0, tzinfo=UTC
    )


# ---------------------------------------------------------------- rendering


def test_highlight_by_stem_prefix_and_in_both_forms():
    text = "Минфин объявил новые санкции. Санкциями займётся комиссия по экспорту."
    snip, spans = make_snippet(text, ["санкция", "экспорт*"], language="ru")
    assert [snip[s:e] for s, e in spans] == ["санкции", "Санкциями", "экспорту"]
    assert "**санкции**" in marked_text(snip, spans)
    raw = "a <b> sanctions & c"
    html = marked_html(raw, [(raw.index("sanctions"), raw.index("sanctions") + 9)])
    assert str(html) == "a &lt;b&gt; <mark>sanctions</mark> &amp; c"


def test_highlight_window_centres_on_the_first_hit():
    text = ("Filler words here. " * 40) + "The sanctions package was adopted. " + "More. " * 40
    snip, spans = make_snippet(text, ["sanctions"], language="en")
    assert len(snip) <= 250 and snip.startswith("…") and snip.endswith("…")
    assert [snip[s:e] for s, e in spans] == ["sanctions"]


def _message(store: Store, cfg) -> Message:  # type: ignore[no-untyped-def]
    from monitor.alerts.outbox import build_message

    plan(store, cfg, add_article(store, title='Sanctions <script>alert("x")</script>'))
    [row] = store.alerts()
    return build_message(store, "screen", [row])


def test_html_is_escaped_and_inline_and_file_templates_work(store: Store, tmp_path: Path):
    cfg = make_config([CONSOLE])
    msg = _message(store, cfg)
    out = render(msg)
    assert "<script>" not in out.html and "&lt;script&gt;" in out.html
    assert "<mark>sanctions</mark>" in out.html
    f = tmp_path / "subject.j2"
    f.write_text("{{ source }} | {{ rule.name }} | {{ matched | join(',') }}", encoding="utf-8")
    custom = render(msg, Templates(subject=str(f), text="T: {{ title }} {{ snippet }}"))
    assert custom.subject == "mfa-ru | sanctions | sanctions"
    assert custom.text.startswith('T: Sanctions <script>alert("x")</script>')
    assert "**sanctions**" in custom.text


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ alerts.append(1) }}",
        "{{ no_such_name }}",
        "{% for x in %}",
    ],
)
def test_bad_or_malicious_templates_are_refused(store: Store, template: str):
    cfg = make_config([CONSOLE])
    with pytest.raises(PermanentDeliveryError, match="template error"):
        render(_message(store, cfg), Templates(text=template))


def test_sandboxed_template_is_a_dead_delivery_and_others_still_go(store: Store, capsys):
    evil = {"name": "evil", "type": "console",
            "templates": {"text": "{{ ''.__class__.__mro__[1].__subclasses__() }}"}}
    cfg = make_config([evil, CONSOLE])
    plan(store, cfg, add_article(store))
    report = run(store, cfg)
    rows = {a.channel: a for a in store.alerts()}
    assert (report.sent, report.dead) == (1, 1)
    assert rows["evil"].status == "dead"
    assert "SecurityError" in (rows["evil"].last_error or "")
    assert "unsafe" in (rows["evil"].last_error or "")
    assert rows["screen"].status == "sent"
    assert capsys.readouterr().out.count("Statement on new sanctions") == 2  # subject + body once


def test_missing_template_file_is_dead_with_the_path(store: Store):
    cfg = make_config([{**CONSOLE, "templates": {"html": "/nonexistent/alert.html.j2"}}])
    plan(store, cfg, add_article(store))
    run(store, cfg)
    [row] = store.alerts()
    assert row.status == "dead" and "/nonexistent/alert.html.j2" in (row.last_error or "")


# ---------------------------------------------------------------- console and health


def test_console_prints_one_block_per_alert(store: Store, capsys):
    cfg = make_config([CONSOLE])
    story = add_article(store)
    add_article(store, source="tass", url="https://tass.com/politics/1", duplicate_of=story)
    plan(store, cfg, story)
    plan(store, cfg, add_article(store, title="Second statement", url="https://mid.ru/en/2"))
    report = run(store, cfg)
    out = capsys.readouterr().out
    assert report.sent == 2
    assert out.count("=" * 72) == 4
    assert "[monitor] sanctions: Statement on new sanctions against shipping companies" in out
    assert "**sanctions**" in out and "tass: https://tass.com/politics/1" in out
    assert "[monitor] sanctions: Second statement" in out


def test_health_alert_uses_its_own_templates(store: Store, capsys):
    cfg = make_config([CONSOLE])
    store.enqueue_alert("h1", channel="screen", due_at=NOW, kind="health",
                        payload={"source": "mfa-ru", "state": "stale",
                                 "message": "nothing new for 3 days"})
    assert run(store, cfg).sent == 1
    out = capsys.readouterr().out
    assert "[monitor] source mfa-ru: stale" in out and "nothing new for 3 days" in out


# ---------------------------------------------------------------- delivery policy


def test_channel_removed_from_config_is_dead_with_a_clear_error(store: Store):
    cfg = make_config([CONSOLE])
    plan(store, cfg, add_article(store))
    report = run(store, make_config([], rules=[]))
    [row] = store.alerts()
    assert report.dead == 1 and row.status == "dead"
    assert row.last_error == "channel 'screen' is not in the config any more"


def test_a_failing_channel_does_not_block_the_others(store: Store, capsys):
    slow_port = free_port()
    with receiver(Reply(200, delay=1.5)) as slow, receiver() as ok:
        channels = [
            {"name": "mail", "type": "email", "host": "127.0.0.1", "port": slow_port,
             "from": "a@example.org", "to": ["b@example.org"], "timeout": "2s"},
            {"name": "slow", "type": "webhook", "url": slow.url, "timeout": "0.5s"},
            {"name": "good", "type": "webhook", "url": ok.url},
            CONSOLE,
        ]
        cfg = make_config(channels)
        for i in range(3):
            plan(store, cfg, add_article(store, url=f"https://mid.ru/en/{i}"))
        report = run(store, cfg)
        good = [r.json["id"] for r in ok.received]
    by = report.by_channel
    assert by["good"] == {"sent": 3} and by["screen"] == {"sent": 3}
    assert by["mail"] == {"retry": 3}
    assert by["slow"].get("retry", 0) >= 1
    assert sorted(good) == sorted(a.id for a in store.alerts() if a.channel == "good")


def test_retry_backoff_grows_and_gives_up_after_retry_for(store: Store):
    cfg = make_config([{"name": "hook", "type": "webhook",
                        "url": f"http://127.0.0.1:{free_port()}/"}],
                      alerts={"retry_for": "1d"})
    plan(store, cfg, add_article(store))
    [row] = store.alerts()
    created = parse_iso(row.created_at)  # the retry window counts from when it was planned
    assert created is not None
    now, gaps = created, []
    for _ in range(6):
        run(store, cfg, now)
        [row] = store.alerts()
        due = parse_iso(row.due_at)
        assert due is not None
        gaps.append((due - now).total_seconds())
        now = due
    assert all(15 <= g <= 30 * 2**i for i, g in enumerate(gaps))
    assert gaps[-1] > gaps[0] * 4  # exponential
    assert run(store, cfg, created + timedelta(hours=23)).retry == 1  # still within a day
    report = run(store, cfg, created + timedelta(days=1, seconds=1))
    [row] = store.alerts()
    assert report.dead == 1 and row.status == "dead"
    assert row.last_error.startswith("gave up after 8 attempts")  # type: ignore[union-attr]
    assert len(store.attempts(row.id)) == 8


def test_claimed_rows_are_leased_so_a_second_sender_skips_them(store: Store):
    cfg = make_config([CONSOLE])
    plan(store, cfg, add_article(store))
    claimed = store.claim_alerts(NOW, until=NOW + LEASE)
    assert [r.status for r in claimed] == ["pending"]
    assert run(store, cfg, NOW).total == 0  # leased by the first sender
    assert run(store, cfg, NOW + LEASE).sent == 1  # the first sender died: due again


def test_digest_groups_alerts_of_a_rule_into_one_message(store: Store, capsys):
    rules = [
        {"name": "sanctions", "query": "sanctions", "notify": ["screen"], "digest": "1h"},
        {"name": "talks", "query": "talks", "notify": ["screen"]},
    ]
    cfg = make_config([CONSOLE], rules)
    for i in range(4):
        plan(store, cfg, add_article(store, title=f"Digest item {i}", url=f"https://mid.ru/{i}"))
    plan(store, cfg, add_article(store, title="Talks in Geneva", url="https://mid.ru/t"),
         rule="talks", terms=("talks",))
    first = run(store, cfg, NOW)
    assert (first.sent, first.messages) == (1, 1)  # only the immediate rule
    capsys.readouterr()
    second = run(store, cfg, digest_window_end(NOW, 3600))
    out = capsys.readouterr().out
    assert (second.sent, second.messages) == (4, 1)
    assert out.count("=" * 72) == 2
    assert "[monitor] sanctions: 4 new matches" in out
    assert all(f"Digest item {i}" in out for i in range(4))


# ---------------------------------------------------------------- commands


def _config_file(tmp_path: Path, channels: str) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(
        f"storage:\n  path: {tmp_path / 'm.db'}\nchannels:\n{channels}"
        "rules:\n  - name: sanctions\n    query: sanctions\n    notify: [screen]\n",
        encoding="utf-8",
    )
    return path


def test_test_alert_command(tmp_path: Path, capsys):
    dead = f"http://127.0.0.1:{free_port()}/hook"
    path = _config_file(
        tmp_path,
        f"  - name: screen\n    type: console\n  - name: hook\n    type: webhook\n"
        f"    url: {dead}\n    timeout: 2s\n",
    )
    assert cli.main(["test-alert", "-c", str(path), "screen"]) == 0
    out = capsys.readouterr().out
    assert "monitor test alert" in out and "screen (console): sent test alert" in out
    assert cli.main(["test-alert", "-c", str(path), "hook"]) == 1
    err = capsys.readouterr().err
    assert "hook (webhook): failed (temporary): cannot reach" in err
    assert cli.main(["test-alert", "-c", str(path), "nope"]) == 2


def test_test_alert_webhook_ok(tmp_path: Path, capsys):
    with receiver() as r:
        path = _config_file(
            tmp_path, f"  - name: screen\n    type: console\n  - name: hook\n    type: webhook\n"
            f"    url: {r.url}\n")
        assert cli.main(["test-alert", "-c", str(path), "hook"]) == 0
    assert r.received[0].json["type"] == "alert"
    assert r.received[0].json["rule"]["name"] == "test"


def test_alerts_command_lists_deliveries(tmp_path: Path, capsys):
    path = _config_file(tmp_path, "  - name: screen\n    type: console\n")
    from monitor.config import load_config

    cfg = load_config(path)
    store = Store.open(cfg.storage.path)
    try:
        plan(store, cfg, add_article(store))
        store.enqueue_alert("h1", channel="gone", due_at=NOW, kind="health",
                            payload={"source": "x", "state": "failing", "message": "m"})
        run(store, cfg)
    finally:
        store.close()
    capsys.readouterr()
    assert cli.main(["alerts", "-c", str(path)]) == 0
    out = capsys.readouterr().out
    assert "STATUS" in out and "LAST ERROR" in out
    assert "sent" in out and "dead" in out and "channel 'gone' is not in the config" in out
    assert "1 sent, 1 dead" in out
    assert cli.main(["alerts", "-c", str(path), "--status", "dead", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert [(i["id"], i["kind"], i["status"], i["attempts"]) for i in items] == [
        ("h1", "health", "dead", 1)
    ]


def test_a_down_channel_stops_after_a_few_failures_and_gives_rows_back(store: Store):
    from monitor.alerts.outbox import BREAKER

    cfg = make_config([{"name": "hook", "type": "webhook",
                        "url": f"http://127.0.0.1:{free_port()}/"}])
    for i in range(BREAKER + 3):
        plan(store, cfg, add_article(store, url=f"https://mid.ru/en/{i}"))
    report = run(store, cfg)
    assert report.by_channel == {"hook": {"retry": BREAKER}}
    untried = [a for a in store.alerts() if a.attempts == 0]
    assert len(untried) == 3
    assert all(a.status == "pending" and a.due_at == iso(NOW) for a in untried)
    assert run(store, cfg).by_channel == {"hook": {"retry": BREAKER}}  # the next run takes them
