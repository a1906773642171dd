"""Ingest: a generated local site of 2,000 articles (an RSS feed without full text + pages),
ingested by ``monitor once``, against a bare httpx loop fetching the same URLs in the same run.

Both sides keep the same number of requests in flight (``IN_FLIGHT``); the site is served by a
separate process (Python's threaded http.server) so neither side shares its interpreter.
"""

from __future__ import annotations

import asyncio
import json
import os
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

WORDS = (
    "minister foreign affairs cooperation security commonwealth statement talks delegation "
    "agreement bilateral summit region economic development sanctions dialogue treaty council "
    "ministry press release spokesperson visit partners energy climate humanitarian support"
).split()


def _text(n: int, k: int) -> str:
    return " ".join(WORDS[(n * 7 + i * 3 + k) % len(WORDS)] for i in range(40)).capitalize() + "."


def build_site(root: Path, n: int) -> None:
    (root / "news").mkdir(parents=True)
    items = []
    for i in range(n):
        day = 1 + i % 28
        title = f"Statement {i}: {_text(i, 1)[:60]}"
        paras = "".join(f"<p>{_text(i, k)} Item {i} paragraph {k}.</p>" for k in range(6))
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


async def bare_loop(base: str, n: int) -> float:
    urls = [f"{base}/feed.xml"] + [f"{base}/news/{i}.html" for i in range(n)]
    sem = asyncio.Semaphore(IN_FLIGHT)
    t0 = time.perf_counter()
    async with httpx.AsyncClient() as client:

        async def get(url: str) -> None:
            async with sem:
                r = await client.get(url)
                r.raise_for_status()

        await asyncio.gather(*(get(u) for u in urls))
    return time.perf_counter() - t0


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
            bare = asyncio.run(bare_loop(base, ARTICLES))
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
            peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
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
