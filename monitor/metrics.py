"""Prometheus metrics and the daemon's small HTTP server (``/metrics``, ``/healthz``).

``server.listen: 127.0.0.1:9464`` turns it on. The server is an asyncio server on the daemon's
own event loop, so ``/healthz`` checks the store from the thread that owns it and stopping the
daemon stops the server with it. Metrics live in their own ``CollectorRegistry``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

log = logging.getLogger(__name__)

BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    """Every metric the daemon exports, in one registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.fetches = Counter(
            "monitor_fetches", "Source runs by outcome.", ["source", "outcome"], registry=r
        )
        self.fetch_duration = Histogram(
            "monitor_fetch_duration_seconds", "Time one source run took.", ["source"],
            buckets=BUCKETS, registry=r,
        )
        self.articles = Counter(
            "monitor_articles_stored", "Articles stored (new or updated).", ["source", "kind"],
            registry=r,
        )
        self.matches = Counter("monitor_matches", "Rule matches.", ["rule"], registry=r)
        self.deliveries = Counter(
            "monitor_deliveries", "Alert delivery attempts by outcome.", ["channel", "outcome"],
            registry=r,
        )
        self.outbox_depth = Gauge(
            "monitor_outbox_depth", "Alerts waiting to be delivered.", ["channel"], registry=r
        )
        self.last_success = Gauge(
            "monitor_last_success_timestamp_seconds", "When a source last ran without error.",
            ["source"], registry=r,
        )
        self.scheduler_lag = Histogram(
            "monitor_scheduler_lag_seconds", "Delay from a run's due time to its start.",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=r,
        )
        self.up = Gauge("monitor_scheduler_running", "1 while the scheduler runs.", registry=r)

    def observe_run(
        self, source: str, outcome: str, duration: float, *, new: int = 0, updated: int = 0,
        success_time: float | None = None,
    ) -> None:
        self.fetches.labels(source, outcome).inc()
        self.fetch_duration.labels(source).observe(duration)
        if new:
            self.articles.labels(source, "new").inc(new)
        if updated:
            self.articles.labels(source, "updated").inc(updated)
        if success_time is not None:
            self.last_success.labels(source).set(success_time)

    def set_outbox(self, pending: Mapping[str, int]) -> None:
        for channel, n in pending.items():
            self.outbox_depth.labels(channel).set(n)

    def forget_source(self, source: str) -> None:
        """Drop the per-source series of a source removed from the config."""
        for metric in (self.fetch_duration, self.last_success):
            with contextlib.suppress(KeyError):
                metric.remove(source)

    def render(self) -> bytes:
        return generate_latest(self.registry)


HealthCheck = Callable[[], Awaitable[bool]]


class MetricsServer:
    """A tiny HTTP/1.1 server: GET /metrics and GET /healthz, nothing else."""

    def __init__(self, metrics: Metrics, healthy: HealthCheck, listen: str) -> None:
        self.metrics = metrics
        self.healthy = healthy
        host, _, port = listen.rpartition(":")
        self.host = host.strip("[]")
        self.port = int(port)
        self._server: asyncio.Server | None = None
        self._conns: set[asyncio.Task[None]] = set()

    @property
    def address(self) -> tuple[str, int]:
        assert self._server is not None
        sock = self._server.sockets[0].getsockname()
        return sock[0], sock[1]

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        log.info("metrics on http://%s:%d/metrics", *self.address[:2])

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for task in list(self._conns):
            task.cancel()
        if self._conns:
            await asyncio.gather(*self._conns, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._server.wait_closed(), 2)
        self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        try:
            await asyncio.wait_for(self._serve(reader, writer), 10)
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self._conns.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        method, _, rest = request.decode("latin-1").partition(" ")
        path = rest.split(" ", 1)[0].split("?", 1)[0]
        ctype = "text/plain; charset=utf-8"
        if method not in ("GET", "HEAD"):
            status, body = "405 Method Not Allowed", b"method not allowed\n"
        elif path == "/metrics":
            status, body, ctype = "200 OK", self.metrics.render(), CONTENT_TYPE_LATEST
        elif path == "/healthz":
            ok = await self.healthy()
            status, body = (
                ("200 OK", b"ok\n") if ok else ("503 Service Unavailable", b"unhealthy\n")
            )
        else:
            status, body = "404 Not Found", b"not found\n"
        head = (
            f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        writer.write(head + (b"" if method == "HEAD" else body))
        await writer.drain()
