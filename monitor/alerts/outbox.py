"""The transactional outbox: plan alerts with the match, deliver them later, record every attempt.

``plan_alerts`` runs inside the pipeline's ``store.transaction()``, so an alert exists exactly when
its article and match do. One row per (rule, story, channel); its id is a stable hash of the three,
so a second article of the same story adds nothing, and the webhook-id / Message-ID derive from it.

``deliver_due`` claims due rows with a lease (their ``due_at`` moves ``LEASE`` ahead, so a second
sender leaves them alone), delivers each channel in its own task (one failing or slow channel
never holds up another), and records each outcome in its own transaction right after the channel
answered. A channel that fails ``BREAKER`` times in a row in one run (server down) stops there and
gives its untried rows back (no attempt counted), as it does when its lease is about to run out.
A row is marked sent only once the far end accepted it: a process killed mid-delivery resends at
most the message in flight, with the same id, once the lease ends.

Retries: exponential backoff from 30 s doubling to at most 1 h, with jitter; ``Retry-After`` when
the receiver gives one; after ``alerts.retry_for`` (default 2 days) since the alert was planned,
the next failure makes it dead. Permanent failures (SMTP 5xx, webhook 410 or other 4xx, a template
refused by the sandbox, an article gone from the store) are dead at once.

An alert whose channel was removed from the config is marked dead with the error "channel X is
not in the config any more" (kept pending it would clog the queue forever); ``monitor alerts
--status dead`` lists them.

Rules with ``digest: 1h`` plan their rows due at the end of the current window
(``floor(now / digest) * digest + digest``); rows of the same rule and channel delivered in one run
go out as one digest message whose id derives from the alert ids it carries.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from monitor.alerts.channels import open_sender
from monitor.alerts.message import Message, Sender, digest_id, stable_id
from monitor.alerts.render import health_view, match_view
from monitor.config import Config, ConsoleChannel, EmailChannel, RuleConfig, WebhookChannel
from monitor.errors import DeliveryError, PermanentDeliveryError
from monitor.store import AlertRow, Store
from monitor.timeutil import parse_iso, utcnow

log = logging.getLogger(__name__)

ChannelConfig = EmailChannel | WebhookChannel | ConsoleChannel

LEASE = timedelta(minutes=5)  # a claimed row comes due again after this if never recorded
BACKOFF_BASE = 30.0
BACKOFF_CAP = 3600.0
RETRY_AFTER_MAX = 86400.0
BREAKER = 3  # after this many transient failures in a row, a channel waits for the next run


@dataclass
class DeliveryReport:
    """Alerts (rows, not messages) sent, scheduled for retry, and dead in one run."""

    sent: int = 0
    retry: int = 0
    dead: int = 0
    messages: int = 0
    errors: list[str] = field(default_factory=list)
    by_channel: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.sent + self.retry + self.dead


# ---------------------------------------------------------------- planning


def alert_id(rule: str, story_id: int, channel: str) -> str:
    """The idempotency key of a match alert: rule + story + channel."""
    return stable_id("match", rule, story_id, channel)


def digest_window_end(now: datetime, seconds: float) -> datetime:
    """The end of the digest window holding ``now`` (windows are aligned on the epoch)."""
    ts = now.timestamp()
    end = math.floor(ts / seconds) * seconds + seconds
    return datetime.fromtimestamp(end, UTC)


def rule_query(rule: RuleConfig) -> str:
    if rule.query:
        return rule.query
    return " OR ".join(f'"{k}"' if " " in k else k for k in rule.keywords)


def plan_alerts(
    store: Store,
    config: Config,
    *,
    rule: RuleConfig,
    article_id: int,
    story_id: int,
    terms: Sequence[str],
    now: datetime,
) -> int:
    """Add one outbox row per channel the rule notifies (none if the story already has one).

    Call it inside the transaction that stores the article and its match. Returns rows added.
    """
    due = digest_window_end(now, rule.digest) if rule.digest else now
    payload: dict[str, object] = {"terms": list(terms), "query": rule_query(rule)}
    if rule.digest:
        payload["digest"] = rule.digest
    added = 0
    with store.transaction():
        for channel in rule.notify:
            if store.enqueue_alert(
                alert_id(rule.name, story_id, channel),
                channel=channel,
                due_at=due,
                kind="match",
                rule=rule.name,
                article_id=article_id,
                story_id=story_id,
                payload=payload,
            ):
                added += 1
    return added


# ---------------------------------------------------------------- delivering


def _groups(rows: Sequence[AlertRow]) -> list[list[AlertRow]]:
    """Rows of one channel -> messages: digest rows of the same rule together, others alone."""
    out: list[list[AlertRow]] = []
    digests: dict[str | None, list[AlertRow]] = {}
    for row in rows:
        if row.kind == "match" and row.payload.get("digest"):
            if row.rule not in digests:
                digests[row.rule] = []
                out.append(digests[row.rule])
            digests[row.rule].append(row)
        else:
            out.append([row])
    return out


def build_message(store: Store, channel: str, rows: Sequence[AlertRow]) -> Message:
    """The message for one group of rows. Raises PermanentDeliveryError if it cannot be built."""
    first = rows[0]
    if first.kind == "health":
        return Message(first.id, "health", channel, (health_view(first),))
    if first.kind != "match":
        raise PermanentDeliveryError(f"unknown alert kind {first.kind!r}")
    rule = {"name": first.rule, "query": first.payload.get("query")}
    views = tuple(match_view(store, r) for r in rows)
    if first.payload.get("digest"):
        return Message(digest_id([r.id for r in rows]), "digest", channel, views, rule)
    return Message(first.id, "match", channel, views, rule)


def next_try(
    rows: Sequence[AlertRow], now: datetime, retry_for: float, retry_after: float | None
) -> datetime | None:
    """When to try again, or None when the alert has been retried for ``retry_for`` already."""
    created = min(parse_iso(r.created_at) or now for r in rows)
    if (now - created).total_seconds() >= retry_for:
        return None
    if retry_after is not None:
        delay = min(max(retry_after, 1.0), RETRY_AFTER_MAX)
    else:
        attempts = max(r.attempts for r in rows)
        full = min(BACKOFF_BASE * 2 ** min(attempts, 20), BACKOFF_CAP)
        delay = full / 2 + random.uniform(0, full / 2)
    return now + timedelta(seconds=delay)


class _Run:
    def __init__(self, store: Store, config: Config, now: datetime) -> None:
        self.store = store
        self.config = config
        self.now = now
        self.report = DeliveryReport()
        self.started = time.monotonic()
        self.streak: dict[str, int] = {}  # transient failures in a row, per channel

    def record(
        self,
        rows: Sequence[AlertRow],
        outcome: str,
        error: str | None = None,
        next_due: datetime | None = None,
    ) -> None:
        ids = [r.id for r in rows]
        self.store.record_attempt(ids, outcome=outcome, error=error, next_due=next_due)
        channel = rows[0].channel
        self.streak[channel] = self.streak.get(channel, 0) + 1 if outcome == "retry" else 0
        setattr(self.report, outcome, getattr(self.report, outcome) + len(ids))
        counts = self.report.by_channel.setdefault(rows[0].channel, {})
        counts[outcome] = counts.get(outcome, 0) + len(ids)
        if error:
            self.report.errors.append(f"{rows[0].channel}: {error}")
            log.warning("alert %s via %s: %s: %s", ",".join(ids), rows[0].channel, outcome, error)
        else:
            log.info("alert %s via %s: %s", ",".join(ids), rows[0].channel, outcome)

    def failed(self, rows: Sequence[AlertRow], exc: DeliveryError) -> None:
        if isinstance(exc, PermanentDeliveryError):
            self.record(rows, "dead", str(exc))
            return
        when = next_try(rows, self.now, self.config.alerts.retry_for, exc.retry_after)
        if when is None:
            attempts = max(r.attempts for r in rows) + 1
            self.record(rows, "dead", f"gave up after {attempts} attempts: {exc}")
        else:
            self.record(rows, "retry", str(exc), when)

    async def deliver_one(self, sender: Sender, channel: str, rows: list[AlertRow]) -> None:
        try:
            try:
                message = build_message(self.store, channel, rows)
            except PermanentDeliveryError:
                if len(rows) == 1:
                    raise
                # A digest: drop the alerts that cannot be shown, send the rest.
                good = []
                for r in rows:
                    try:
                        match_view(self.store, r)
                        good.append(r)
                    except PermanentDeliveryError as one:
                        self.record([r], "dead", str(one))
                if not good:
                    return
                rows[:] = good
                message = build_message(self.store, channel, rows)
            await sender.send(message)
        except DeliveryError as exc:
            self.failed(rows, exc)
        except Exception as exc:  # noqa: BLE001 - a bug in one sender must not stop the others
            log.exception("alert delivery via %s crashed", channel)
            self.failed(rows, DeliveryError(f"unexpected error: {type(exc).__name__}: {exc}"))
        else:
            self.report.messages += 1
            self.record(rows, "sent")

    async def deliver_channel(self, channel: ChannelConfig, rows: Sequence[AlertRow]) -> None:
        groups = _groups(rows)
        handled = 0
        try:
            async with open_sender(channel) as sender:
                for group in groups:
                    if self._should_stop(channel.name):
                        break
                    await self.deliver_one(sender, channel.name, group)
                    handled += 1
        except Exception as exc:  # noqa: BLE001 - opening or closing the sender failed
            log.exception("channel %s failed", channel.name)
            for group in groups[handled:]:
                self.failed(group, DeliveryError(f"channel {channel.name} failed: {exc}"))
            return
        left = [r.id for group in groups[handled:] for r in group]
        if left:
            # untried: end their lease now so the next run takes them (no attempt is counted)
            self.store.release_alerts(left, self.now)
            log.warning("channel %s: %d alerts left for the next run (%s)", channel.name,
                        len(left), "channel failing" if self.streak.get(channel.name, 0)
                        >= BREAKER else "lease running out")

    def _should_stop(self, channel: str) -> bool:
        """Stop a channel after BREAKER failures in a row, or before its lease runs out."""
        if self.streak.get(channel, 0) >= BREAKER:
            return True
        return time.monotonic() - self.started > LEASE.total_seconds() * 0.8


async def deliver_due(
    store: Store, config: Config, *, now: datetime | None = None, limit: int = 100
) -> DeliveryReport:
    """Deliver the alerts due at ``now`` (at most ``limit`` rows) and record every attempt."""
    run = _Run(store, config, now or utcnow())
    rows = store.claim_alerts(run.now, until=run.now + LEASE, limit=limit)
    channels = {c.name: c for c in config.channels}
    by_channel: dict[str, list[AlertRow]] = {}
    for row in rows:
        if row.channel in channels:
            by_channel.setdefault(row.channel, []).append(row)
        else:
            run.record([row], "dead", f"channel {row.channel!r} is not in the config any more")
    await asyncio.gather(
        *(run.deliver_channel(channels[name], group) for name, group in by_channel.items())
    )
    return run.report


# ---------------------------------------------------------------- direct sending


def sample_message(channel: str) -> Message:
    """A made-up alert for ``monitor test-alert`` (its id is new each time)."""
    now = utcnow()
    ident = stable_id("test", channel, now.isoformat(), random.random())
    body = (
        "The Ministry of Foreign Affairs today announced new sanctions against three shipping "
        "companies. The statement says the measures take effect immediately and will be reviewed "
        "in six months."
    )
    view = {
        "id": ident,
        "article": {
            "id": 0,
            "url": "https://example.org/press/2021/12/08/sanctions",
            "title": "Statement on new sanctions (monitor test alert)",
            "source": "example-ministry",
            "published_at": now.replace(microsecond=0).isoformat(),
            "language": "en",
            "snippet": body,
            "highlights": [[body.index("sanctions"), body.index("sanctions") + 9]],
        },
        "matched": ["sanctions"],
        "also": [{"source": "example-agency", "url": "https://example.net/news/1", "title": None}],
    }
    return Message(ident, "match", channel, (view,), {"name": "test", "query": "sanctions"})


async def send_now(channel: ChannelConfig, message: Message) -> None:
    """Send one message through a channel now, outside the outbox. Raises DeliveryError."""
    async with open_sender(channel) as sender:
        await sender.send(message)
