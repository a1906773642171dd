"""Scheduling arithmetic: jitter that does not drift, first runs after a restart, cron plans,
and the metrics server in-process."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from monitor.config import SourceConfig
from monitor.metrics import Metrics, MetricsServer
from monitor.scheduler import CATCH_UP_SPREAD, NEW_SPREAD, GridIntervalTrigger, first_run, plan

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def src(**kw: object) -> SourceConfig:
    return SourceConfig.model_validate({"name": "s", "url": "http://127.0.0.1/f", **kw})


def test_grid_interval_jitter_does_not_accumulate() -> None:
    trig = GridIntervalTrigger(seconds=10, start_date=NOW, timezone=UTC, jitter=1.0)
    t = NOW
    fires = []
    for _ in range(1000):
        t = trig.get_next_fire_time(t, t)
        fires.append(t)
    for k, fire in enumerate(fires, start=1):
        offset = (fire - NOW).total_seconds() - 10 * k
        assert 0 <= offset <= 1.0, (k, offset)
    # and the jitter really varies
    assert len({round((f - NOW).total_seconds() % 10, 3) for f in fires}) > 100


def test_grid_interval_after_a_backoff_returns_to_the_grid() -> None:
    trig = GridIntervalTrigger(seconds=10, start_date=NOW, timezone=UTC, jitter=None)
    after_backoff = NOW + timedelta(seconds=83.4)
    assert trig.get_next_fire_time(after_backoff, after_backoff) == NOW + timedelta(seconds=90)


def test_plan_every_and_cron() -> None:
    p = plan(src(every="15m"), 0.1, NOW)
    assert p.interval == 900 and p.jitter == 90 and isinstance(p.trigger, GridIntervalTrigger)
    c = plan(src(cron="0 9 * * *", timezone="Europe/Moscow"), 0.1, NOW)
    assert c.interval == 86400 and c.jitter == 8640
    nxt = c.trigger.get_next_fire_time(None, NOW)
    assert nxt is not None
    nine_msk = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)  # 09:00 in Moscow, the next day
    assert 0 <= (nxt - nine_msk).total_seconds() <= 8640  # plus up to 10% of a day of jitter
    assert plan(src(every="1s"), 0.1, NOW).key != plan(src(every="2s"), 0.1, NOW).key


def test_first_run_after_restart() -> None:
    p = plan(src(every="10m"), 0.1, NOW)
    ahead = NOW + timedelta(minutes=4)
    assert first_run(ahead, p, NOW) == ahead  # still ahead: keep it
    far = NOW + timedelta(days=3)  # e.g. the interval was shortened meanwhile
    assert first_run(far, p, NOW) == NOW + timedelta(minutes=10)
    for _ in range(50):  # overdue: one catch-up, soon
        t = first_run(NOW - timedelta(hours=5), p, NOW)
        assert NOW <= t <= NOW + timedelta(seconds=CATCH_UP_SPREAD)
        new = first_run(None, p, NOW)
        assert NOW <= new <= NOW + timedelta(seconds=NEW_SPREAD)
    # short intervals: spread over one interval, so sources do not all start together
    one = plan(src(every="1s"), 0.1, NOW)
    starts = [(first_run(None, one, NOW) - NOW).total_seconds() for _ in range(400)]
    assert max(starts) <= 1.0 and min(starts) >= 0
    assert sum(s < 0.5 for s in starts) in range(140, 261)  # uniform, not bunched


def test_metrics_server_serves_and_stops() -> None:
    async def main() -> None:
        metrics = Metrics()
        metrics.observe_run("kremlin", "new", 0.42, new=3, success_time=1_800_000_000.0)
        metrics.observe_run("kremlin", "error", 0.1)
        metrics.set_outbox({"ops": 2})
        healthy = [True]

        async def check() -> bool:
            return healthy[0]

        server = MetricsServer(metrics, check, "127.0.0.1:0")
        await server.start()
        host, port = server.address

        async def get(path: str) -> tuple[str, str]:
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            await writer.drain()
            data = (await reader.read()).decode()
            writer.close()
            await writer.wait_closed()
            head, _, body = data.partition("\r\n\r\n")
            return head.splitlines()[0], body

        status, body = await get("/metrics")
        assert status == "HTTP/1.1 200 OK"
        assert 'monitor_fetches_total{outcome="new",source="kremlin"} 1.0' in body
        assert 'monitor_fetches_total{outcome="error",source="kremlin"} 1.0' in body
        assert 'monitor_articles_stored_total{kind="new",source="kremlin"} 3.0' in body
        assert 'monitor_outbox_depth{channel="ops"} 2.0' in body
        assert 'monitor_fetch_duration_seconds_count{source="kremlin"} 2.0' in body
        assert (await get("/healthz"))[0] == "HTTP/1.1 200 OK"
        healthy[0] = False
        assert (await get("/healthz"))[0] == "HTTP/1.1 503 Service Unavailable"
        assert (await get("/other"))[0] == "HTTP/1.1 404 Not Found"
        await server.stop()
        try:
            await asyncio.open_connection(host, port)
        except OSError:
            pass
        else:
            raise AssertionError("the server still accepts connections")

    asyncio.run(main())
