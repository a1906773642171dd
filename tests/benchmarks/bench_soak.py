"""Soak: the daemon polls 200 sources on a local site every second for 3 minutes.

Some sources always fail (HTTP 500), some answer slowly (0.3-0.6 s); the others answer 304 until
a new release appears (every 30 s per source, staggered), then 200 with the feed. The site is a
separate process (Python's threaded http.server); the daemon runs in this process so every run's
due time and start can be recorded.

Reports: RSS after start-up and at the end (and growth after the first full minute of warm-up,
since SQLite's page cache and the HTTP pool fill during the first runs), open file descriptors,
scheduling lag (due time → start of the fetch) p50/p99, missed and doubled runs of the healthy
sources, and the back-off of the failing ones.

    python tests/benchmarks/run.py soak              # 3 minutes
    BENCH_SOAK_SECONDS=30 python tests/benchmarks/run.py soak   # a quick run
    python tests/benchmarks/bench_soak.py --seconds 30 --sources 50
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SECONDS = float(os.environ.get("BENCH_SOAK_SECONDS", "180"))
SOURCES = int(os.environ.get("BENCH_SOAK_SOURCES", "200"))
NEW_EVERY = 30.0  # a new release per source this often
JITTER = 0.1
TARGETS = {"memory growth": "< 10%", "p99 lag": "< 1 s", "missed": "0", "doubled": "0"}


def kind(i: int) -> str:
    """Every 20th source fails, the next one is slow, the rest are healthy."""
    return {2: "failing", 1: "slow"}.get(i % 20, "ok")


# ---------------------------------------------------------------- the site (a child process)


def serve(n: int) -> None:
    import random
    from datetime import UTC, datetime
    from email.utils import format_datetime
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    t0 = time.time()
    syllables = ["ka", "lo", "mi", "ner", "sta", "vo", "ri", "den", "pa", "tu", "gel", "shan",
                 "ob", "cer", "lin", "du", "fra", "mo", "zel", "ta"]
    words = sorted({a + b + c for a in syllables for b in syllables for c in syllables[:6]})

    def count(i: int) -> int:
        return 3 + int((time.time() - t0 + (i * NEW_EVERY / n)) // NEW_EVERY)

    cache: dict[tuple[int, int], bytes] = {}

    def feed(i: int, top: int) -> bytes:
        if (i, top) not in cache:
            cache[(i, top)] = render(i, top)
        return cache[(i, top)]

    def render(i: int, top: int) -> bytes:
        items = []
        for k in range(max(1, top - 10), top + 1):
            rng = random.Random(i * 100_003 + k)  # every release reads differently
            body = " ".join(rng.choice(words) for _ in range(80))
            items.append(
                f"<item><title>Source {i} release {k}: {words[k % len(words)]}</title>"
                f"<link>http://127.0.0.1/s{i}/{k}.html</link><guid>s{i}-{k}</guid>"
                f"<pubDate>{format_datetime(datetime.fromtimestamp(t0 + k, UTC))}</pubDate>"
                f"<content:encoded><![CDATA[<p>Release {k} of source {i}. {body}.</p>]]>"
                "</content:encoded></item>"
            )
        return (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
            f"<title>s{i}</title><link>http://127.0.0.1/</link><description>d</description>"
            + "".join(items) + "</channel></rss>"
        ).encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()  # headers and body go out as two writes: no Nagle delay
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:  # noqa: N802
            try:
                i = int(self.path.strip("/").removeprefix("s").removesuffix(".xml"))
            except ValueError:
                self._send(404, b"no", None)
                return
            k = kind(i)
            if k == "slow":
                time.sleep(0.3 + (i % 7) * 0.05)
            if k == "failing":
                self._send(500, b"server error", None)
                return
            top = count(i)
            tag = f'"{top}"'
            if self.headers.get("If-None-Match") == tag:
                self._send(304, b"", tag)
            else:
                self._send(200, feed(i, top), tag)

        def _send(self, status: int, body: bytes, etag: str | None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            if etag:
                self.send_header("ETag", etag)
            self.end_headers()
            if status != 304:
                self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.request_queue_size = 256
    print(server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()  # until the parent closes our stdin
    server.shutdown()


# ---------------------------------------------------------------- the daemon (this process)


def config_text(port: int, n: int, db: Path) -> str:
    sources = "".join(
        f"  - name: s{i}\n    url: http://127.0.0.1:{port}/s{i}.xml\n    type: feed\n"
        f"    language: en\n    every: 1s\n"
        for i in range(n)
    )
    return (
        f"storage:\n  path: {db}\n"
        "fetch:\n  robots: false\n  retries: 0\n  timeout: 5s\n  delay: 0s\n"
        f"  per_host: 64\n  concurrency: 64\n  jitter: {JITTER}\n"
        "log:\n  level: warning\n"
        "alerts:\n  every: 5s\n"
        f"sources:\n{sources}"
    )


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def soak(config_path: Path, seconds: float) -> dict[str, Any]:
    import psutil

    from monitor.config import load_config
    from monitor.logsetup import setup_logging
    from monitor.scheduler import Daemon, RunRecord

    config = load_config(config_path)
    setup_logging("warning", "text")
    from monitor.pipeline import open_context, run_sources

    t0 = time.monotonic()
    async with open_context(config) as ctx:  # warm-up: the first ingest of every feed
        reports = await run_sources(ctx, config.sources)
    warmup = time.monotonic() - t0
    print(f"warm-up: first pass over {len(reports)} sources stored "
          f"{sum(r.new for r in reports)} articles in {warmup:.1f}s", flush=True)
    runs: dict[str, list[RunRecord]] = defaultdict(list)
    daemon = Daemon(config, str(config_path), on_run=lambda r: runs[r.source].append(r),
                    install_signals=False)
    proc = psutil.Process()
    samples: list[tuple[float, int, int]] = []

    async def sample() -> None:
        t0 = time.monotonic()
        while True:
            samples.append((time.monotonic() - t0, proc.memory_info().rss, proc.num_fds()))
            await asyncio.sleep(1)

    sampler = asyncio.create_task(sample())
    asyncio.get_running_loop().call_later(seconds, daemon.stop)
    t_start = time.time()
    cpu0 = proc.cpu_times()
    result_cpu0 = cpu0.user + cpu0.system
    await daemon.run()
    t_end = time.time()
    sampler.cancel()
    cpu = proc.cpu_times()
    cpu_total = cpu.user + cpu.system - result_cpu0
    return {"cpu_total": cpu_total, "runs": runs, "samples": samples, "daemon": daemon,
            "t_start": t_start, "t_end": t_end, "load": os.getloadavg()[0]}


def analyse(result: dict[str, Any], n: int, seconds: float) -> dict[str, Any]:
    runs = result["runs"]
    samples = result["samples"]
    daemon = result["daemon"]
    lags: list[float] = []
    durations: list[float] = []
    missed = doubled = healthy_runs = failing_runs = 0
    worst_gap = 0.0
    for i in range(n):
        name = f"s{i}"
        records = [r for r in runs.get(name, []) if r.due is not None]
        dues = [r.due.timestamp() for r in records]  # type: ignore[union-attr]
        lags += [r.started - r.due.timestamp() for r in records]  # type: ignore[union-attr]
        durations += [r.duration for r in records if kind(i) == "ok"]
        if kind(i) == "failing":
            failing_runs += len(records)
            continue
        healthy_runs += len(records)
        if len(set(dues)) != len(dues):
            doubled += len(dues) - len(set(dues))
        for a, b in zip(dues, dues[1:], strict=False):
            gap = b - a
            worst_gap = max(worst_gap, gap)
            if gap < 1 - JITTER - 0.05:
                doubled += 1
            elif gap > 1 + JITTER + 0.05:
                missed += round(gap) - 1 or 1
    warm = [s for s in samples if s[0] >= min(60.0, seconds / 3)]
    rss_start = samples[2][1] if len(samples) > 2 else samples[0][1]
    rss_warm = warm[0][1] if warm else rss_start
    rss_end = samples[-1][1]
    fds = [s[2] for s in samples]
    expected = (n - n // 20) * seconds
    return {
        "sources": n,
        "seconds": seconds,
        "runs": healthy_runs + failing_runs,
        "runs_per_s": (healthy_runs + failing_runs) / seconds,
        "healthy_runs": healthy_runs,
        "healthy_expected": round(expected),
        "failing_runs": failing_runs,
        "rss_start_mb": rss_start / 2**20,
        "rss_warm_mb": rss_warm / 2**20,
        "rss_end_mb": rss_end / 2**20,
        "growth_pct": 100 * (rss_end - rss_start) / rss_start,
        "growth_after_warmup_pct": 100 * (rss_end - rss_warm) / rss_warm,
        "fds_start": fds[2] if len(fds) > 2 else fds[0],
        "fds_max": max(fds),
        "fds_end": fds[-1],
        "lag_p50_ms": 1000 * pct(lags, 0.5),
        "lag_p99_ms": 1000 * pct(lags, 0.99),
        "lag_max_ms": 1000 * max(lags) if lags else float("nan"),
        "run_p50_ms": 1000 * pct(durations, 0.5),
        "run_p99_ms": 1000 * pct(durations, 0.99),
        "missed": missed,
        "doubled": doubled,
        "worst_gap_s": worst_gap,
        "daemon_cpu_pct": 100 * result["cpu_total"] / seconds,
        "load_avg_1m": result["load"],
        "cpus": os.cpu_count(),
        "apscheduler_missed": daemon.counters.missed,
        "skipped_busy": daemon.counters.skipped_busy,
    }


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=SECONDS)
    p.add_argument("--sources", type=int, default=SOURCES)
    args = p.parse_args(argv or [])
    try:
        import psutil  # noqa: F401
    except ImportError:
        print("skip: psutil is not installed (pip install -e '.[bench]')")
        return []
    site = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(args.sources)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert site.stdout is not None
        port = int(site.stdout.readline())
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "soak.yaml"
            path.write_text(config_text(port, args.sources, Path(tmp) / "soak.db"))
            print(f"soak: {args.sources} sources every 1s for {args.seconds:.0f}s "
                  f"({args.sources // 20} failing, {args.sources // 20} slow)", flush=True)
            result = asyncio.run(soak(path, args.seconds))
            row = analyse(result, args.sources, args.seconds)
    finally:
        if site.stdin:
            site.stdin.close()
        site.wait(10)
    print_table(row)
    return [row]


def print_table(row: dict[str, Any]) -> None:
    lines = [
        ("sources x seconds", f"{row['sources']} x {row['seconds']:.0f}s"),
        ("runs (per second)", f"{row['runs']} ({row['runs_per_s']:.1f}/s)"),
        ("healthy runs / expected", f"{row['healthy_runs']} / {row['healthy_expected']}"),
        ("failing-source runs (back-off)", f"{row['failing_runs']}"),
        ("RSS start -> end", f"{row['rss_start_mb']:.1f} -> {row['rss_end_mb']:.1f} MB "
                             f"({row['growth_pct']:+.1f}%)"),
        ("RSS after warm-up -> end", f"{row['rss_warm_mb']:.1f} -> {row['rss_end_mb']:.1f} MB "
                                     f"({row['growth_after_warmup_pct']:+.1f}%)"),
        ("open fds start / max / end", f"{row['fds_start']} / {row['fds_max']} / "
                                       f"{row['fds_end']}"),
        ("lag p50 / p99 / max", f"{row['lag_p50_ms']:.0f} / {row['lag_p99_ms']:.0f} / "
                                f"{row['lag_max_ms']:.0f} ms"),
        ("run time p50 / p99 (healthy)", f"{row['run_p50_ms']:.0f} / {row['run_p99_ms']:.0f} ms"),
        ("missed / doubled runs", f"{row['missed']} / {row['doubled']} "
                                  f"(worst gap {row['worst_gap_s']:.2f}s)"),
        ("daemon CPU (one core = 100%)", f"{row['daemon_cpu_pct']:.0f}% "
                                         f"(machine load {row['load_avg_1m']:.1f} on "
                                         f"{row['cpus']} CPUs)"),
        ("APScheduler misfires / busy skips", f"{row['apscheduler_missed']} / "
                                              f"{row['skipped_busy']}"),
    ]
    width = max(len(k) for k, _ in lines)
    for k, v in lines:
        print(f"  {k.ljust(width)}  {v}")
    print("  targets: " + ", ".join(f"{k} {v}" for k, v in TARGETS.items()))


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]))
    else:
        sys.path.insert(0, str(ROOT))
        main(sys.argv[1:])
