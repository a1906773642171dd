"""Ingest: a generated local site of 2,000 articles (an RSS feed without full text + pages),
ingested by ``monitor once``, against a bare httpx loop fetching the same URLs in the same run.

Both sides keep the same number of requests in flight (``IN_FLIGHT``); the site is served by a
separate process (Python's threaded http.server) so neither side shares its interpreter.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ARTICLES = int(os.environ.get("BENCH_INGEST_ARTICLES", "2000"))
IN_FLIGHT = 16
ROOT = Path(__file__).resolve().parents[2]

COMMON = (
    "minister foreign affairs cooperation security commonwealth statement talks delegation "
    "agreement bilateral summit region economic development sanctions dialogue treaty council "
    "ministry press release spokesperson visit partners energy climate humanitarian support"
).split()
_SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]


def _vocabulary(size: int = 6000) -> list[str]:
    """Made-up words, so that releases differ the way real ones do (names, places, topics)."""
    rnd = random.Random(7)
    return ["".join(rnd.choice(_SYLLABLES) for _ in range(rnd.randint(2, 4)))
            for _ in range(size)]


VOCABULARY = _vocabulary()


def _text(n: int, k: int) -> str:
    rnd = random.Random(n * 100 + k)
    words = [rnd.choice(COMMON) if rnd.random() < 0.3 else rnd.choice(VOCABULARY)
             for _ in range(40)]
    return " ".join(words).capitalize() + "."


def build_site(root: Path, n: int) -> None:
    (root / "news").mkdir(parents=True)
    items = []
    for i in range(n):
        day = 1 + i % 28
        title = f"Statement {i}: {_text(i, 1)[:60]}"
        paras = "".join(f"<p>{_text(i, k)}</p>" for k in range(6))
        paras += "<p>The ministry's press service is open to journalists on weekdays.</p>"
        page = (
            f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{title} | Ministry"
            f"</title><meta property='article:published_time' content='2021-12-{day:02d}T10:00:00"
            f"+03:00'></head><body><nav><a href=/>Home</a><a href=/news/>News</a></nav>"
            f"<main><article><h1>{title}</h1><time datetime='2021-12-{day:02d}'>{day} December "
            f"2021</time>{paras}<p>Based on materials from TASS</p></article></main>"
            f"<footer>© Ministry 2021</footer></body></html>"
        )
        (root / "news" / f"{i}.html").write_text(page, encoding="utf-8")
        items.append(
            f"<item><title>{title}</title><link>/news/{i}.html</link>"
            f"<guid isPermaLink='false'>id-{i}</guid>"
            f"<pubDate>Wed, {day:02d} Dec 2021 10:00:00 +0300</pubDate></item>"
        )
    feed = (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Ministry</title>"
        "<link>/</link><description>News</description>" + "".join(items) + "</channel></rss>"
    )
    (root / "feed.xml").write_text(feed, encoding="utf-8")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def bare_loop(base: str, n: int) -> tuple[float, float]:
    urls = [f"{base}/feed.xml"] + [f"{base}/news/{i}.html" for i in range(n)]
    sem = asyncio.Semaphore(IN_FLIGHT)
    t0, c0 = time.perf_counter(), time.process_time()
    async with httpx.AsyncClient() as client:

        async def get(url: str) -> None:
            async with sem:
                r = await client.get(url)
                r.raise_for_status()

        await asyncio.gather(*(get(u) for u in urls))
    return time.perf_counter() - t0, time.process_time() - c0


def main() -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        build_site(site, ARTICLES)
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
             "--directory", str(site)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    httpx.get(base + "/feed.xml")
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            bare, bare_cpu = asyncio.run(bare_loop(base, ARTICLES))
            cfg = Path(tmp) / "bench.yaml"
            cfg.write_text(json.dumps({
                "storage": {"path": str(Path(tmp) / "bench.db")},
                "fetch": {"robots": False, "per_host": IN_FLIGHT, "concurrency": 4},
                "sources": [{"name": "ministry", "url": f"{base}/feed.xml", "type": "feed",
                             "language": "en", "timezone": "Europe/Moscow"}],
            }))
            t0 = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-m", "monitor", "once", "-c", str(cfg), "--no-send"],
                capture_output=True, text=True, cwd=ROOT,
            )
            ours = time.perf_counter() - t0
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            peak_mb = usage.ru_maxrss / 1024
            ours_cpu = usage.ru_utime + usage.ru_stime
            if proc.returncode != 0:
                print(proc.stdout, proc.stderr)
                raise RuntimeError("monitor once failed")
            stored = subprocess.run(
                [sys.executable, "-m", "monitor", "export", "-c", str(cfg)],
                capture_output=True, text=True, cwd=ROOT, check=True,
            ).stdout.count("\n")
        finally:
            server.terminate()
            server.wait()
    row = {
        "articles": stored,
        "pipeline_s": round(ours, 2),
        "pipeline_articles_per_s": round(stored / ours, 1),
        "bare_httpx_s": round(bare, 2),
        "bare_urls_per_s": round((ARTICLES + 1) / bare, 1),
        "pipeline_cpu_s": round(ours_cpu, 2),
        "bare_httpx_cpu_s": round(bare_cpu, 2),
        "ratio_pipeline_vs_bare": round(bare / ours, 2),
        "peak_rss_mb": round(peak_mb, 1),
    }
    print(f"{'metric':28} value")
    for k, v in row.items():
        print(f"{k:28} {v}")
    print("target: ratio >= 0.5 (pipeline at least half as fast as bare fetching)")
    return [row]


if __name__ == "__main__":
    main()
