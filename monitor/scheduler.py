"""The daemon: one APScheduler job per source, the outbox sender, signals and reloads.

    monitor run ─▶ Daemon.run()
                     ├─ job "source:<name>" per source (IntervalTrigger / CronTrigger + jitter)
                     │     run_source() → metrics → update_health() → backoff → set_next_due()
                     ├─ job "outbox" every alerts.every: deliver_due()
                     ├─ SIGHUP: reload the config; SIGTERM/SIGINT: drain, commit, exit 0
                     └─ /metrics and /healthz when server.listen is set

The job store is APScheduler's memory store, rebuilt from the config at start. What must survive
a restart lives in SQLite: each source's next due time, so a restart neither fetches everything
at once nor skips a source that fell due while the daemon was down (it runs once to catch up).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.events import (
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
    JobEvent,
    JobSubmissionEvent,
)
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor import health
from monitor.config import Config, SourceConfig, load_config
from monitor.errors import ConfigError, MonitorError
from monitor.logsetup import config_secrets, register_secrets, setup_logging
from monitor.metrics import Metrics, MetricsServer
from monitor.timeutil import parse_iso, utcnow

log = logging.getLogger(__name__)

OUTBOX_JOB = "outbox"
FLUSH_SECONDS = 1.0  # next due times are written in one transaction at most this often
DRAIN_SECONDS = 5.0  # in-flight runs get this long to finish after SIGTERM, then are cancelled


def job_id(source: str) -> str:
    return f"source:{source}"


class GridIntervalTrigger(IntervalTrigger):
    """An IntervalTrigger whose jitter does not add up: run k is due at start + k*interval plus
    a fresh random 0..jitter seconds (APScheduler's own adds the jitter to the previous,
    already jittered, time, so a source drifts later by half the jitter on every run)."""

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        if previous_fire_time is None:
            return super().get_next_fire_time(None, now)
        start = self.start_date.timestamp()
        k = math.floor((previous_fire_time.timestamp() - start) / self.interval_length + 1e-9)
        nxt = start + (k + 1) * self.interval_length
        if self.jitter:
            nxt += random.uniform(0, self.jitter)
        return datetime.fromtimestamp(nxt, tz=self.timezone)


@dataclass(frozen=True)
class Plan:
    """How one source is scheduled: its trigger, its typical gap, its first run."""

    trigger: BaseTrigger
    interval: float
    jitter: float
    key: tuple[Any, ...]  # what, when changed, means the job must be rescheduled


def plan(source: SourceConfig, jitter: float, now: datetime, *, start: datetime | None = None
         ) -> Plan:
    """The trigger for a source: ``every`` → interval, ``cron`` → crontab in its time zone."""
    if source.cron:
        trigger = CronTrigger.from_crontab(source.cron, timezone=ZoneInfo(source.timezone))
        first = trigger.get_next_fire_time(None, now)
        second = trigger.get_next_fire_time(first, first + timedelta(microseconds=1))
        interval = (second - first).total_seconds() if first and second else 3600.0
        trigger.jitter = jitter * interval or None
        key: tuple[Any, ...] = ("cron", source.cron, source.timezone, jitter)
        return Plan(trigger, interval, jitter * interval, key)
    interval = source.interval
    grid = GridIntervalTrigger(
        seconds=interval, start_date=start or now, timezone=UTC, jitter=jitter * interval or None
    )
    return Plan(grid, interval, jitter * interval, ("every", interval, jitter))


NEW_SPREAD = 10.0  # at most this many seconds over which never-run sources start
CATCH_UP_SPREAD = 10.0  # at most this many seconds over which overdue sources catch up


def first_run(next_due: datetime | None, plan_: Plan, now: datetime) -> datetime:
    """When a source first runs after a start: its stored due time if still ahead (at most one
    interval away); if it fell due while the daemon was down, soon (one catch-up run, not
    many); a source never run before, soon too. "Soon" is a random point within one interval
    (at most 10 s): sources then keep that phase, so a hundred sources on the same
    interval do not all start in the same instant, every time."""
    if next_due is not None and next_due > now:
        return min(next_due, now + timedelta(seconds=plan_.interval))
    spread = CATCH_UP_SPREAD if next_due is not None else NEW_SPREAD
    return now + timedelta(seconds=random.uniform(0, min(plan_.interval, spread)))


@dataclass
class RunRecord:
    """One finished run, handed to ``Daemon.on_run`` (benchmarks, tests)."""

    source: str
    due: datetime | None
    started: float  # time.time() when the fetch started (after the concurrency gate)
    outcome: str
    duration: float


@dataclass
class Counters:
    runs: int = 0
    missed: int = 0  # APScheduler gave up on a run past its misfire grace time
    skipped_busy: int = 0  # a run fell due while the previous one was still going
    reloads: int = 0
    reloads_refused: int = 0
    health_changes: list[health.HealthChange] = field(default_factory=list)


class Daemon:
    """Runs the sources of a config on schedule until stopped. ``await Daemon(...).run()``."""

    def __init__(
        self,
        config: Config,
        config_path: str | None = None,
        *,
        log_format: str | None = None,
        on_run: Callable[[RunRecord], None] | None = None,
        install_signals: bool = True,
    ) -> None:
        self.config = config
        self.config_path = config_path
        self.log_format = log_format  # a --log-format given on the command line wins on reload
        self.on_run = on_run
        self.install_signals = install_signals
        self.metrics = Metrics()
        self.counters = Counters()
        self.scheduler: AsyncIOScheduler | None = None
        self.server: MetricsServer | None = None
        self.ctx: Any = None  # monitor.pipeline.Context once running
        self._plans: dict[str, Plan] = {}
        self._due: dict[str, datetime] = {}
        self._inflight: set[asyncio.Task[Any]] = set()
        self._stop = asyncio.Event()
        self._stopping = False
        self._reload_lock = asyncio.Lock()
        self._sem = asyncio.Semaphore(config.fetch.concurrency)
        self._started = utcnow()
        self._spare_fetchers: list[Any] = []  # fetchers made on reload, closed at exit
        self._tasks: set[asyncio.Task[Any]] = set()
        self._dirty: dict[str, datetime | None] = {}  # next due times not yet written
        self._flushed = time.monotonic()
        self._skips = 0
        self._skips_warned = -1e9

    # ------------------------------------------------------------ lifecycle

    async def run(self) -> int:
        from monitor.pipeline import open_context

        loop = asyncio.get_running_loop()
        register_secrets(config_secrets(self.config))
        if self.install_signals:  # SIGTERM during start-up still ends in a clean stop
            loop.add_signal_handler(signal.SIGTERM, self.stop)
            loop.add_signal_handler(signal.SIGINT, self.stop)
        async with open_context(self.config) as ctx:
            self.ctx = ctx
            self._wrap_rules()
            self.scheduler = AsyncIOScheduler(
                event_loop=loop,
                timezone=UTC,
                job_defaults={"coalesce": True, "max_instances": 1},
            )
            self.scheduler.add_listener(
                self._on_event, EVENT_JOB_SUBMITTED | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES
            )
            now = utcnow()
            for source in self.config.sources:
                self._add_source(source, now)
            self._flush_next_due()
            self._add_outbox(now)
            self.scheduler.start()
            self.metrics.up.set(1)
            if self.install_signals:
                loop.add_signal_handler(signal.SIGHUP, lambda: self._spawn(self.reload()))
            await self._start_server()
            log.info(
                "monitor running: %d sources, %d rules, %d channels",
                len(self.config.sources), len(self.config.rules), len(self.config.channels),
            )
            try:
                await self._stop.wait()
            finally:
                await self._shutdown(loop)
        if self.install_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(Exception):
                    loop.remove_signal_handler(sig)
        log.info("monitor stopped")
        return 0

    def stop(self) -> None:
        """Stop taking new work; ``run()`` drains, commits and returns."""
        if not self._stopping:
            self._stopping = True
            log.info("stopping: finishing %d run(s) in flight", len(self._inflight))
        self._stop.set()

    async def _shutdown(self, loop: asyncio.AbstractEventLoop) -> None:
        self._stopping = True
        self.metrics.up.set(0)
        if self.install_signals:
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(signal.SIGHUP)
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.pause()
        pending = set(self._inflight) | set(self._tasks)
        if pending:
            _done, late = await asyncio.wait(pending, timeout=DRAIN_SECONDS)
            for task in late:
                task.cancel()
            if late:
                log.warning("abandoned %d run(s) still in flight", len(late))
                await asyncio.wait(late, timeout=2)
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler shuts down on the next loop turn
        self._flush_next_due()
        if self.server is not None:
            await self.server.stop()
        for fetcher in self._spare_fetchers:
            with contextlib.suppress(Exception):
                await fetcher.aclose()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _start_server(self) -> None:
        listen = self.config.server.listen
        if not listen:
            return
        server = MetricsServer(self.metrics, self.healthy, listen)
        try:
            await server.start()
        except OSError as exc:
            log.error("cannot serve metrics on %s: %s", listen, exc)
            return
        self.server = server

    async def healthy(self) -> bool:
        """For /healthz: the scheduler runs and the database takes a write."""
        running = (
            self.scheduler is not None and self.scheduler.running and not self._stopping
        )
        return bool(running and self.ctx is not None and self.ctx.store.writable())

    # ------------------------------------------------------------ jobs

    def _add_source(self, source: SourceConfig, now: datetime) -> None:
        assert self.scheduler is not None
        state = self.ctx.store.source_state(source.name)
        start = first_run(parse_iso(state.next_due_at), self._plan(source, now), now)
        p = self._plan(source, now, start=start)
        self._plans[source.name] = p
        self.scheduler.add_job(
            self._source_job,
            p.trigger,
            args=[source.name],
            id=job_id(source.name),
            name=source.name,
            next_run_time=start,
            misfire_grace_time=max(1, math.ceil(p.interval)),
            replace_existing=True,
        )
        self._dirty[source.name] = start

    def _plan(self, source: SourceConfig, now: datetime, start: datetime | None = None) -> Plan:
        return plan(source, self.config.fetch.jitter, now, start=start)

    def _add_outbox(self, now: datetime) -> None:
        assert self.scheduler is not None
        every = self.config.alerts.every
        self.scheduler.add_job(
            self._outbox_job,
            IntervalTrigger(seconds=max(every, 0.5), start_date=now, timezone=UTC),
            id=OUTBOX_JOB,
            name=OUTBOX_JOB,
            next_run_time=now,
            misfire_grace_time=max(1, math.ceil(every)),
            replace_existing=True,
        )

    def _on_event(self, event: JobEvent) -> None:
        if event.code == EVENT_JOB_SUBMITTED and isinstance(event, JobSubmissionEvent):
            if event.job_id.startswith("source:"):
                self._due[event.job_id[7:]] = event.scheduled_run_times[-1]
        elif not event.job_id.startswith("source:"):
            return
        elif event.code == EVENT_JOB_MISSED:
            self.counters.missed += 1
            self._overloaded("missed", event.job_id[7:])
        elif event.code == EVENT_JOB_MAX_INSTANCES:
            self.counters.skipped_busy += 1
            self._overloaded("busy", event.job_id[7:])

    def _overloaded(self, why: str, source: str) -> None:
        """Runs skipped because the daemon cannot keep up: one warning a minute at most."""
        self._skips += 1
        now = time.monotonic()
        if now - self._skips_warned < 60:
            return
        log.warning(
            "%d run(s) skipped in the last minute (e.g. %s: %s); the daemon cannot keep up: "
            "raise fetch.concurrency or lengthen the intervals", self._skips, source,
            "still running when due again" if why == "busy" else "too late to start",
        )
        self._skips, self._skips_warned = 0, now

    async def _source_job(self, name: str) -> None:
        task = asyncio.current_task()
        if task is None or self._stopping:
            return
        self._inflight.add(task)
        try:
            await self._run_one(name)
        finally:
            self._inflight.discard(task)

    async def _run_one(self, name: str) -> None:
        from monitor.pipeline import run_source

        try:
            source = self.config.source(name)
        except KeyError:
            return
        due = self._due.pop(name, None)
        async with self._sem:
            if self._stopping:
                return
            started = time.time()
            if due is not None:
                self.metrics.scheduler_lag.observe(max(0.0, started - due.timestamp()))
            report = await run_source(self.ctx, source)
        self.counters.runs += 1
        now = utcnow()
        self.metrics.observe_run(
            name, report.outcome, report.duration, new=report.new, updated=report.updated,
            success_time=None if report.outcome == "error" else now.timestamp(),
        )
        if report.new or report.updated:
            log.info("%s", report.line(), extra={"source": name})
        elif report.outcome != "error" and log.isEnabledFor(logging.DEBUG):
            log.debug("%s", report.line(), extra={"source": name})
        change = health.update_health(
            self.ctx.store, self.config.health, source, now, watching_since=self._started
        )
        if change is not None:
            self.counters.health_changes.append(change)
        if report.outcome == "error":
            self._back_off(name, now)
        self._save_next_due(name)
        if getattr(report, "alerts", 0) or (change is not None and change.alerts):
            self._kick_outbox()
        if self.on_run is not None:
            self.on_run(RunRecord(name, due, started, report.outcome, report.duration))

    def _back_off(self, name: str, now: datetime) -> None:
        """After the second failure in a row, wait 2, 4, then 8 intervals before retrying."""
        assert self.scheduler is not None
        p = self._plans.get(name)
        job = self.scheduler.get_job(job_id(name))
        if p is None or job is None:
            return
        failures = self.ctx.store.source_state(name).failures
        delay = health.backoff(p.interval, failures)
        if delay <= p.interval:
            return
        when = now + timedelta(seconds=delay + random.uniform(0, p.jitter))
        job.modify(next_run_time=when)
        log.info("%s: %d failures in a row; next try in %.0fs", name, failures, delay,
                 extra={"source": name})

    def _save_next_due(self, name: str) -> None:
        assert self.scheduler is not None
        job = self.scheduler.get_job(job_id(name))
        if job is not None:
            self._dirty[name] = job.next_run_time
        if time.monotonic() - self._flushed >= FLUSH_SECONDS:
            self._flush_next_due()

    def _flush_next_due(self) -> None:
        """Write the pending next due times in one transaction (not one commit per run)."""
        self._flushed = time.monotonic()
        self._skips = 0
        self._skips_warned = -1e9
        if not self._dirty or self.ctx is None:
            return
        dirty, self._dirty = self._dirty, {}
        with self.ctx.store.transaction():
            for name, when in dirty.items():
                self.ctx.store.set_next_due(name, when)

    def _kick_outbox(self) -> None:
        """New alerts were queued: send them now rather than at the next outbox tick."""
        if self.scheduler is None or self._stopping:
            return
        job = self.scheduler.get_job(OUTBOX_JOB)
        if job is not None:
            job.modify(next_run_time=utcnow())

    async def _outbox_job(self) -> None:
        from monitor.alerts.outbox import deliver_due

        if self._stopping:
            return
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            report = await deliver_due(self.ctx.store, self.config)
            self._observe_delivery(report)
            counts = self.ctx.store.alert_counts()
            self.metrics.set_outbox({c: n.get("pending", 0) for c, n in counts.items()})
        except MonitorError as exc:
            log.error("sending alerts failed: %s", exc)
        finally:
            if task is not None:
                self._inflight.discard(task)

    def _observe_delivery(self, report: Any) -> None:
        """Count delivery outcomes per channel from a DeliveryReport, whatever its shape."""
        by_channel = getattr(report, "by_channel", None)
        if isinstance(by_channel, dict):
            for channel, outcomes in by_channel.items():
                for outcome, n in dict(outcomes).items():
                    if n:
                        self.metrics.deliveries.labels(channel, outcome).inc(n)
            return
        for outcome in ("sent", "retry", "dead"):
            items = getattr(report, outcome, None)
            if isinstance(items, int):
                if items:
                    self.metrics.deliveries.labels("all", outcome).inc(items)
            elif items:
                for item in items:
                    channel = getattr(item, "channel", None) or "all"
                    self.metrics.deliveries.labels(channel, outcome).inc()

    def _wrap_rules(self) -> None:
        """Count matches per rule as the pipeline asks the rule set."""
        rules = self.ctx.rules
        if isinstance(rules, _CountingRules):
            rules = rules.inner
        self.ctx.rules = _CountingRules(rules, self.metrics)

    # ------------------------------------------------------------ reload

    async def reload(self) -> bool:
        """Re-read the config. Invalid: log why and keep the running one. Valid: apply it."""
        async with self._reload_lock:
            if self._stopping:
                return False
            log.info("reloading %s", self.config_path or "the config")
            try:
                new = load_config(self.config_path)
                from monitor.rules import RuleSet

                rules = RuleSet.compile(new.rules)
            except ConfigError as exc:
                self.counters.reloads_refused += 1
                for problem in exc.problems:
                    log.error("reload refused: %s", problem)
                log.error("reload refused: keeping the running config")
                return False
            except MonitorError as exc:
                self.counters.reloads_refused += 1
                log.error("reload refused: %s; keeping the running config", exc)
                return False
            await self._apply(new, rules)
            self.counters.reloads += 1
            return True

    async def _apply(self, new: Config, rules: Any) -> None:
        old = self.config
        if new.storage.path != old.storage.path:
            log.warning("storage.path changed: takes effect at the next restart; keeping %s",
                        old.storage.path)
            new = new.model_copy(update={"storage": old.storage})
        register_secrets(config_secrets(new))
        if new.log != old.log:
            setup_logging(new.log.level, self.log_format or new.log.format)
        if new.fetch != old.fetch or new.named_hosts() != old.named_hosts():
            await self._swap_fetcher(new)
        if new.fetch.concurrency != old.fetch.concurrency:
            self._sem = asyncio.Semaphore(new.fetch.concurrency)
        self.config = new
        self.ctx.config = new
        self.ctx.rules = rules
        self._wrap_rules()
        added, removed, changed = self._reschedule(old, new)
        self._flush_next_due()
        if new.alerts.every != old.alerts.every:
            self._add_outbox(utcnow())
        if new.server.listen != old.server.listen:
            if self.server is not None:
                await self.server.stop()
                self.server = None
            await self._start_server()
        log.info(
            "config reloaded: %d sources (%d added, %d removed, %d changed), %d rules, "
            "%d channels", len(new.sources), added, removed, changed, len(new.rules),
            len(new.channels),
        )

    def _reschedule(self, old: Config, new: Config) -> tuple[int, int, int]:
        assert self.scheduler is not None
        now = utcnow()
        before = {s.name: s for s in old.sources}
        after = {s.name: s for s in new.sources}
        added = removed = changed = 0
        for name in before.keys() - after.keys():
            with contextlib.suppress(Exception):
                self.scheduler.remove_job(job_id(name))
            self._dirty.pop(name, None)
            self._plans.pop(name, None)
            self.metrics.forget_source(name)
            removed += 1
        for name, source in after.items():
            if name not in before:
                self._add_source(source, now)
                added += 1
            elif source != before[name]:
                changed += 1
                if self._plan(source, now).key != self._plans[name].key:
                    self._add_source(source, now)
        return added, removed, changed

    async def _swap_fetcher(self, new: Config) -> None:
        """A new HTTP client for new fetch settings; the old one closes when its runs end."""
        from monitor.fetch import Fetcher

        fetcher = Fetcher(new.fetch, allowed_hosts=new.named_hosts())
        await fetcher.__aenter__()
        old, self.ctx.fetcher = self.ctx.fetcher, fetcher
        self._spare_fetchers.append(fetcher)
        if old in self._spare_fetchers:
            self._spare_fetchers.remove(old)
            busy = set(self._inflight)

            async def close_later() -> None:
                if busy:
                    await asyncio.wait(busy)
                await old.aclose()

            self._spawn(close_later())


class _CountingRules:
    """A RuleSet that counts matches per rule in the metrics as it answers."""

    def __init__(self, inner: Any, metrics: Metrics) -> None:
        self.inner = inner
        self.metrics = metrics

    def match(self, doc: Any) -> Any:
        found = self.inner.match(doc)
        for m in found:
            self.metrics.matches.labels(m.rule).inc()
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def run_daemon(config: Config, config_path: str | None, *, log_format: str | None = None
                     ) -> int:
    """Run until SIGTERM/SIGINT; returns the exit code."""
    return await Daemon(config, config_path, log_format=log_format).run()
