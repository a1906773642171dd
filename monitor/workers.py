"""Extraction off the event loop: a worker process for big batches, in-process for small ones.

Parsing and extracting a page costs a few milliseconds of CPU; a first run over a source with
hundreds of new articles would keep one core busy while the event loop waits. Batches of at
least ``OFFLOAD_AT`` pages go to a pool of worker processes (``forkserver``, so no thread or
socket of the daemon is inherited); smaller ones run in-process, where a pool would cost more
than it saves. A worker that dies is replaced and its page extracted in-process.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from monitor.dedupe import signature
from monitor.extract import extract_article
from monitor.models import Extracted

log = logging.getLogger(__name__)

OFFLOAD_AT = 16  # pages in one run before extraction moves to worker processes


def default_workers() -> int:
    """One worker per spare core (at least one, at most four)."""
    return max(1, min(4, (os.cpu_count() or 2) - 1))


def extract_and_sign(html: str, url: str, **options: Any) -> tuple[Extracted, bytes]:
    """The page's extraction and the MinHash signature of its body: all the CPU work on it."""
    extracted = extract_article(html, url, **options)
    return extracted, signature(extracted.body)


class Extractor:
    """``await extractor(html, url, offload=..., **options)`` → ``(Extracted, signature)``."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_workers() if workers is None else workers
        self._pool: ProcessPoolExecutor | None = None

    async def __call__(
        self, html: str, url: str, *, offload: bool, **options: Any
    ) -> tuple[Extracted, bytes]:
        if not offload or self.workers < 1:
            return extract_and_sign(html, url, **options)
        job = functools.partial(extract_and_sign, html, url, **options)
        try:
            return await asyncio.get_running_loop().run_in_executor(self._get_pool(), job)
        except BrokenProcessPool:
            log.warning("an extraction worker died; starting a new one")
            self.close()
            return job()

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context)
        return self._pool

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
