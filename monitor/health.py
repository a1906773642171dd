"""Source health: ok, failing (N errors in a row) or stale (nothing new for ``stale_after``).

After every run the scheduler calls ``update_health()``. A change of state writes the new state
and, in the same transaction, ONE alert per ``health.notify`` channel: a warning when a source
turns failing or stale, a recovery message when it works again. The alert id is derived from
the episode (the last success before the failures, the last new item before the silence), so a
crash and restart cannot send it twice. ``backoff()`` gives the delay before a failing source's
next try: its interval doubled per failure beyond the first, at most eight intervals.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.config import HealthConfig, SourceConfig
from monitor.store import SourceState, Store
from monitor.timeutil import iso, parse_iso

log = logging.getLogger(__name__)

OK, FAILING, STALE = "ok", "failing", "stale"
STATES = (OK, FAILING, STALE)
MAX_BACKOFF = 8


@dataclass(frozen=True)
class HealthChange:
    source: str
    old: str
    new: str
    message: str
    alert_id: str
    alerts: int  # rows added to the outbox


def assess(
    state: SourceState,
    source: SourceConfig,
    config: HealthConfig,
    now: datetime,
    *,
    watching_since: datetime | None = None,
) -> str:
    """The health a source's stored state implies now. Failing wins over stale."""
    if state.failures >= config.failures:
        return FAILING
    if source.stale_after:
        reference = parse_iso(state.last_new_at) or watching_since
        if reference is not None and now - reference > timedelta(seconds=source.stale_after):
            return STALE
    return OK


def _describe(state: SourceState, source: SourceConfig, new: str, old: str, now: datetime) -> str:
    if new == FAILING:
        return (
            f"{source.name} has failed {state.failures} times in a row; "
            f"last error: {state.last_error or 'unknown'}"
        )
    if new == STALE:
        since = state.last_new_at or "it was added"
        return f"{source.name} has published nothing new since {since}"
    was = "failing" if old == FAILING else "silent"
    last = state.last_success_at or iso(now)
    return f"{source.name} works again (was {was}); last success {last}"


def _episode(state: SourceState, new: str, old: str) -> str:
    """A key that stays the same for one episode and differs between episodes."""
    if new == FAILING:
        anchor = state.last_success_at or "never"
    elif new == STALE:
        anchor = state.last_new_at or "never"
    else:  # recovery: the success or new item that ended the episode
        anchor = (state.last_success_at if old == FAILING else state.last_new_at) or "never"
    digest = hashlib.sha256(f"{state.name}|{old}|{new}|{anchor}".encode()).hexdigest()[:16]
    return f"health:{state.name}:{new}:{digest}"


def update_health(
    store: Store,
    config: HealthConfig,
    source: SourceConfig,
    now: datetime,
    *,
    watching_since: datetime | None = None,
) -> HealthChange | None:
    """Re-assess one source after a run; on a change store it and enqueue the message."""
    state = store.source_state(source.name)
    new = assess(state, source, config, now, watching_since=watching_since)
    old = state.health if state.health in STATES else OK
    if new == old:
        return None
    message = _describe(state, source, new, old, now)
    alert_id = _episode(state, new, old)
    added = 0
    with store.transaction():
        for channel in config.notify:
            added += store.enqueue_alert(
                f"{alert_id}:{channel}",
                kind="health",
                channel=channel,
                due_at=now,
                payload={"source": source.name, "state": new, "message": message},
            )
        store.set_health(source.name, new)
    level = logging.INFO if new == OK else logging.WARNING
    log.log(level, "%s: health %s -> %s: %s", source.name, old, new, message,
            extra={"source": source.name})
    return HealthChange(source.name, old, new, message, alert_id, added)


def backoff(interval: float, failures: int) -> float:
    """Seconds until a failing source is tried again: 1, 2, 4, then 8 intervals."""
    if failures <= 1:
        return interval
    return interval * min(2 ** (failures - 1), MAX_BACKOFF)
