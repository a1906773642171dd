"""Source health: transitions, one alert per episode, recovery, backoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.config import HealthConfig, SourceConfig
from monitor.health import FAILING, OK, STALE, assess, backoff, update_health
from monitor.store import SourceState

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SRC = SourceConfig(name="mfa", url="http://127.0.0.1/feed", every=60, stale_after=3600)
CFG = HealthConfig(failures=3, notify=["ops", "console"])


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """record_run stamps the wall clock: make it the time each test says."""
    now = [T0]
    monkeypatch.setattr("monitor.store.utcnow", lambda: now[0])
    return now


def fail(store, when: datetime, error: str = "HTTP 500") -> None:
    _at(when)
    store.record_run("mfa", started_at=when, outcome="error", error=error)


def ok(store, when: datetime, new: int = 0) -> None:
    _at(when)
    store.record_run("mfa", started_at=when, outcome="ok", new=new)


def _at(when: datetime) -> None:
    import monitor.store

    monitor.store.utcnow = lambda: when  # undone by the clock fixture's monkeypatch


def health_alerts(store):
    return sorted((a.channel, a.payload["state"]) for a in store.alerts() if a.kind == "health")


def test_assess_failing_wins_over_stale() -> None:
    state = SourceState("mfa", failures=3, last_new_at="2026-11-01T00:00:00+00:00")
    assert assess(state, SRC, CFG, T0) == FAILING
    assert assess(SourceState("mfa", failures=2), SRC, CFG, T0) == OK
    old = SourceState("mfa", last_new_at=(T0 - timedelta(hours=2)).isoformat())
    assert assess(old, SRC, CFG, T0) == STALE
    fresh = SourceState("mfa", last_new_at=(T0 - timedelta(minutes=59)).isoformat())
    assert assess(fresh, SRC, CFG, T0) == OK


def test_stale_needs_stale_after_and_a_reference() -> None:
    no_stale = SRC.model_copy(update={"stale_after": None})
    old = SourceState("mfa", last_new_at="2020-01-01T00:00:00+00:00")
    assert assess(old, no_stale, CFG, T0) == OK
    never = SourceState("mfa")
    assert assess(never, SRC, CFG, T0) == OK
    assert assess(never, SRC, CFG, T0, watching_since=T0 - timedelta(hours=2)) == STALE


def test_three_failures_raise_one_alert_per_channel_then_one_recovery(store) -> None:
    ok(store, T0, new=1)
    assert update_health(store, CFG, SRC, T0) is None
    for i in range(1, 3):
        fail(store, T0 + timedelta(minutes=i))
        assert update_health(store, CFG, SRC, T0 + timedelta(minutes=i)) is None
    fail(store, T0 + timedelta(minutes=3))
    change = update_health(store, CFG, SRC, T0 + timedelta(minutes=3))
    assert change is not None and (change.old, change.new, change.alerts) == (OK, FAILING, 2)
    assert "3 times" in change.message and "HTTP 500" in change.message
    assert store.source_state("mfa").health == FAILING
    # more failures in the same episode: nothing more
    for i in range(4, 10):
        fail(store, T0 + timedelta(minutes=i))
        assert update_health(store, CFG, SRC, T0 + timedelta(minutes=i)) is None
    assert health_alerts(store) == [("console", FAILING), ("ops", FAILING)]
    ok(store, T0 + timedelta(minutes=10), new=1)
    change = update_health(store, CFG, SRC, T0 + timedelta(minutes=10))
    assert change is not None and (change.old, change.new) == (FAILING, OK)
    assert "works again" in change.message
    assert update_health(store, CFG, SRC, T0 + timedelta(minutes=11)) is None
    assert health_alerts(store) == [
        ("console", FAILING), ("console", OK), ("ops", FAILING), ("ops", OK)
    ]
    payload = next(a.payload for a in store.alerts() if a.kind == "health")
    assert set(payload) == {"source", "state", "message"} and payload["source"] == "mfa"


def test_a_second_episode_alerts_again_with_a_new_id(store) -> None:
    ok(store, T0, new=1)
    ids = []
    for episode in range(2):
        base = T0 + timedelta(hours=episode)
        for i in range(3):
            fail(store, base + timedelta(minutes=i + 1))
        change = update_health(store, CFG, SRC, base + timedelta(minutes=4))
        assert change is not None and change.new == FAILING
        ids.append(change.alert_id)
        ok(store, base + timedelta(minutes=5), new=1)
        assert update_health(store, CFG, SRC, base + timedelta(minutes=5)) is not None
    assert ids[0] != ids[1]
    assert len([a for a in store.alerts() if a.payload.get("state") == FAILING]) == 4


def test_the_alert_id_is_stable_within_an_episode(store) -> None:
    """A crash after the alert but before the state was saved must not alert twice."""
    ok(store, T0, new=1)
    for i in range(3):
        fail(store, T0 + timedelta(minutes=i + 1))
    first = update_health(store, CFG, SRC, T0 + timedelta(minutes=4))
    assert first is not None
    store.set_health("mfa", OK)  # as if the state write had been lost
    fail(store, T0 + timedelta(minutes=5))
    again = update_health(store, CFG, SRC, T0 + timedelta(minutes=6))
    assert again is not None and again.alert_id == first.alert_id and again.alerts == 0
    assert len(health_alerts(store)) == 2


def test_stale_then_new_item_recovers(store) -> None:
    ok(store, T0, new=1)
    later = T0 + timedelta(hours=2)
    change = update_health(store, CFG, SRC, later)
    assert change is not None and change.new == STALE and "nothing new" in change.message
    assert update_health(store, CFG, SRC, later + timedelta(minutes=5)) is None
    ok(store, later, new=2)
    change = update_health(store, CFG, SRC, later + timedelta(seconds=1))
    assert change is not None and (change.old, change.new) == (STALE, OK)
    assert health_alerts(store) == [
        ("console", OK), ("console", STALE), ("ops", OK), ("ops", STALE)
    ]


def test_no_notify_channels_still_tracks_state(store) -> None:
    cfg = HealthConfig(failures=1)
    fail(store, T0)
    change = update_health(store, cfg, SRC, T0)
    assert change is not None and change.alerts == 0
    assert store.source_state("mfa").health == FAILING
    assert health_alerts(store) == []


@pytest.mark.parametrize(
    ("failures", "factor"), [(0, 1), (1, 1), (2, 2), (3, 4), (4, 8), (5, 8), (50, 8)]
)
def test_backoff_doubles_up_to_eight_intervals(failures: int, factor: int) -> None:
    assert backoff(60, failures) == 60 * factor
