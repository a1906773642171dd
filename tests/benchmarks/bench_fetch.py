"""Fetch: ``Fetcher`` over each transport against a bare httpx loop, same URLs, same server.

A separate process serves ``PAGES`` small pages with Python's threaded http.server, either
HTTP/1.0 (a new connection per request, like ``python -m http.server``) or HTTP/1.1 keep-alive.
Every client keeps ``IN_FLIGHT`` requests in flight; each configuration runs ``ROUNDS`` times
and the best round counts. The Fetcher runs with robots off and ``per_host = IN_FLIGHT``, so
what is measured is the client's own overhead (limits, streaming, checks), not politeness.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from httpx_aiohttp import AiohttpTransport

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from monitor.config import FetchConfig  # noqa: E402
from monitor.fetch import Fetcher, default_transport  # noqa: E402

PAGES = int(os.environ.get("BENCH_FETCH_PAGES", "2000"))
IN_FLIGHT = 16
ROUNDS = int(os.environ.get("BENCH_FETCH_ROUNDS", "2"))

SERVER = r"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, protocol = int(sys.argv[1]), sys.argv[2]
para = "<p>The minister held talks with the delegation on bilateral cooperation.</p>" * 24

class H(BaseHTTPRequestHandler):
    protocol_version = protocol
    wbufsize = 65536  # headers and body leave in one send ...
    disable_nagle_algorithm = True  # ... without waiting for the client's delayed ACK
    def do_GET(self):
        body = ("<!doctype html><html><head><meta charset=utf-8><title>%s</title></head>"
                "<body><h1>%s</h1>%s</body></html>" % (self.path, self.path, para)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass

class S(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

S(("127.0.0.1", port), H).serve_forever()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def urls(base: str) -> list[str]:
    return [f"{base}/news/{i}.html" for i in range(PAGES)]


async def bare(base: str, transport: httpx.AsyncBaseTransport | None) -> int:
    sem = asyncio.Semaphore(IN_FLIGHT)
    total = 0
    async with httpx.AsyncClient(transport=transport) as client:

        async def get(url: str) -> None:
            nonlocal total
            async with sem:
                r = await client.get(url)
                r.raise_for_status()
                total += len(r.content)

        await asyncio.gather(*(get(u) for u in urls(base)))
    return total


async def ours(base: str, transport: httpx.AsyncBaseTransport | None) -> int:
    cfg = FetchConfig(robots=False, per_host=IN_FLIGHT)
    sem = asyncio.Semaphore(IN_FLIGHT)
    total = 0
    async with Fetcher(cfg, transport=transport) as fetcher:

        async def get(url: str) -> None:
            nonlocal total
            async with sem:
                result = await fetcher.get(url, source="bench")
                total += len(result.content)  # not `total += len(await ...)`: that loses updates

        await asyncio.gather(*(get(u) for u in urls(base)))
    return total


CLIENTS: list[tuple[str, str, Callable[[], httpx.AsyncBaseTransport | None]]] = [
    ("bare httpx", "httpx", httpx.AsyncHTTPTransport),
    ("bare httpx", "aiohttp", AiohttpTransport),
    ("Fetcher", "httpx", httpx.AsyncHTTPTransport),
    ("Fetcher", "aiohttp", default_transport),  # the default
]


def measure(base: str, protocol: str) -> list[dict[str, object]]:
    best: dict[tuple[str, str], float] = {}
    cpu: dict[tuple[str, str], float] = {}
    for _ in range(ROUNDS):
        for client, transport, make in CLIENTS:
            run = bare if client.startswith("bare") else ours
            t0, c0 = time.perf_counter(), time.process_time()
            size = asyncio.run(run(base, make()))
            seconds, cpu_s = time.perf_counter() - t0, time.process_time() - c0
            assert size > PAGES * 1000, "pages were not fetched"
            key = (client, transport)
            best[key] = min(best.get(key, seconds), seconds)
            cpu[key] = min(cpu.get(key, cpu_s), cpu_s)
    rows = []
    for (client, transport), seconds in best.items():
        rows.append({
            "server": protocol,
            "client": client,
            "transport": transport,
            "pages": PAGES,
            "in_flight": IN_FLIGHT,
            "seconds": round(seconds, 2),
            "pages_per_s": round(PAGES / seconds),
            "vs_bare_httpx": round(best[("bare httpx", "httpx")] / seconds, 2),
            "client_cpu_ms_per_page": round(cpu[(client, transport)] * 1000 / PAGES, 2),
        })
    return rows


def main() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for protocol in ("HTTP/1.0", "HTTP/1.1"):
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(port), protocol],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    httpx.get(base + "/ready")
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            rows += measure(base, protocol)
        finally:
            server.terminate()
            server.wait()
    print(f"{'server':9} {'client':11} {'transport':9} {'pages':>6} {'s':>6} {'pages/s':>8} "
          f"{'vs bare httpx':>13} {'cpu ms/page':>11}")
    for r in rows:
        print(f"{r['server']:9} {r['client']:11} {r['transport']:9} {r['pages']:>6} "
              f"{r['seconds']:>6} {r['pages_per_s']:>8} {r['vs_bare_httpx']:>13} "
              f"{r['client_cpu_ms_per_page']:>11}")
    print(f"{IN_FLIGHT} requests in flight; best of {ROUNDS} rounds; server: threaded http.server "
          "in its own process; cpu = the client process's CPU time (robust to a busy machine)")
    return rows


if __name__ == "__main__":
    main()
