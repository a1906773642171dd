"""Soak: the daemon polls 200 sources on a local site every second for 3 minutes.

Some sources always fail (HTTP 500), some answer slowly (0.3-0.6 s); the others answer 304 until
a new release appears (every 30 s per source, staggered), then 200 with the feed. The site is a
separate process (a small asyncio HTTP/1.1 server); the daemon runs in this process so every run's
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
import subprocess
import sys
import tempfile
import time
from array import array
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

    async def respond(i: int, etag_in: str | None) -> tuple[int, bytes, str | None]:
        k = kind(i)
        if k == "slow":
            await asyncio.sleep(0.3 + (i % 7) * 0.05)
        if k == "failing":
            return 500, b"server error", None
        top = count(i)
        tag = f'"{top}"'
        if etag_in == tag:
            return 304, b"", tag
        return 200, feed(i, top), tag

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:  # HTTP/1.1 keep-alive: one request after another
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                etag_in = next((ln.split(":", 1)[1].strip() for ln in lines[1:]
                                if ln.lower().startswith("if-none-match:")), None)
                try:
                    i = int(path.strip("/").removeprefix("s").removesuffix(".xml"))
                    status, body, tag = await respond(i, etag_in)
                except ValueError:
                    status, body, tag = 404, b"no", None
                reason = {200: "OK", 304: "Not Modified", 404: "Not Found",
                          500: "Internal Server Error"}[status]
                out = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/rss+xml\r\n"
                       f"Content-Length: {len(body) if status != 304 else 0}\r\n"
                       + (f"ETag: {tag}\r\n" if tag else "") + "\r\n").encode()
                writer.write(out + (body if status != 304 else b""))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, IndexError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=512)
        print(server.sockets[0].getsockname()[1], flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin
        server.close()

    asyncio.run(main())


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
    # (due, started, duration) per run, kept compact so the benchmark's own bookkeeping does
    # not show up as the daemon's memory growth
    runs: dict[str, array[float]] = defaultdict(lambda: array("d"))

    def record(r: RunRecord) -> None:
        if r.due is not None:
            runs[r.source].extend((r.due.timestamp(), r.started, r.duration))

    daemon = Daemon(config, str(config_path), on_run=record, install_signals=False)
    proc = psutil.Process()
    samples: list[tuple[float, int, int]] = []

    async def sample() -> None:
        t0 = time.monotonic()
        while True:
            samples.append((time.monotonic() - t0, proc.memory_info().rss, proc.num_fds()))
            await asyncio.sleep(1)

    stalls: list[float] = []

    async def heartbeat() -> None:  # how late the event loop wakes a 10 ms sleep
        while True:
            t = time.perf_counter()
            await asyncio.sleep(0.01)
            stalls.append(time.perf_counter() - t - 0.01)

    sampler = asyncio.create_task(sample())
    beat = asyncio.create_task(heartbeat())
    asyncio.get_running_loop().call_later(seconds, daemon.stop)
    t_start = time.time()
    cpu0 = proc.cpu_times()
    result_cpu0 = cpu0.user + cpu0.system
    await daemon.run()
    t_end = time.time()
    sampler.cancel()
    beat.cancel()
    cpu = proc.cpu_times()
    cpu_total = cpu.user + cpu.system - result_cpu0
    return {"cpu_total": cpu_total, "stalls": stalls, "runs": runs, "samples": samples,
            "daemon": daemon, "t_start": t_start, "t_end": t_end, "load": os.getloadavg()[0]}


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
        flat = runs.get(name, [])
        records = [tuple(flat[j:j + 3]) for j in range(0, len(flat), 3)]
        dues = [due for due, _, _ in records]
        lags += [started - due for due, started, _ in records]
        durations += [took for _, _, took in records if kind(i) == "ok"]
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
        "stall_p99_ms": 1000 * pct(result["stalls"], 0.99),
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
        with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_SOAK_TMP")) as tmp:
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
        ("event-loop wake-up delay p99", f"{row['stall_p99_ms']:.0f} ms"),
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
