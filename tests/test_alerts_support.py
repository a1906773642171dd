"""Shared helpers of the alerts tests (no tests here): config, articles, a webhook receiver."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from monitor.alerts import plan_alerts
from monitor.config import Config
from monitor.models import Article
from monitor.store import Store

NOW = datetime(2021, 12, 8, 11, 30, tzinfo=UTC)

BODY_EN = (
    "MOSCOW, December 8. The Ministry of Foreign Affairs said on Wednesday that new sanctions "
    "against Russian shipping companies would be met with a proportionate response. "
    "The statement, published after talks in Geneva, added that the sanctions regime violated "
    "international law and that consultations with partners would continue next week. "
    "Officials declined to say which measures were under consideration."
)


def make_config(
    channels: list[dict[str, Any]],
    rules: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> Config:
    if rules is None:
        names = [c["name"] for c in channels]
        rules = [{"name": "sanctions", "query": "sanctions", "notify": names}]
    return Config.model_validate({"channels": channels, "rules": rules, **extra})


def add_article(
    store: Store,
    *,
    title: str = "Statement on new sanctions against shipping companies",
    body: str = BODY_EN,
    source: str = "mfa-ru",
    url: str = "https://mid.ru/en/foreign_policy/news/1798631/",
    language: str | None = "en",
    duplicate_of: int | None = None,
    published_at: datetime | None = NOW,
) -> int:
    return store.insert_article(
        Article(
            source=source, url=url, title=title, body=body, first_seen_at=NOW,
            published_at=published_at, language=language, fingerprint=url,
        ),
        duplicate_of=duplicate_of,
    )


def plan(
    store: Store,
    config: Config,
    article_id: int,
    *,
    rule: str = "sanctions",
    story_id: int | None = None,
    terms: tuple[str, ...] = ("sanctions",),
    now: datetime = NOW,
) -> int:
    """Plan like the pipeline does: inside one transaction with the article."""
    with store.transaction():
        return plan_alerts(
            store, config, rule=config.rule(rule), article_id=article_id,
            story_id=story_id if story_id is not None else article_id, terms=terms, now=now,
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """A real HTTP server on 127.0.0.1 that records POSTs and answers from a script.

    ``replies`` are used in order; when empty, ``default`` answers.
    """

    def __init__(self, *replies: Reply, default: Reply | None = None) -> None:
        self.replies = list(replies)
        self.default = default or Reply()
        self.received: list[Received] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                if len(body) < length:
                    return  # the sender died mid-request: nothing was delivered
                with receiver.lock:
                    receiver.received.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    reply = receiver.replies.pop(0) if receiver.replies else receiver.default
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.send_header("content-length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:
                    pass  # the client gave up (timeout test)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@contextmanager
def receiver(*replies: Reply, default: Reply | None = None) -> Iterator[Receiver]:
    with Receiver(*replies, default=default) as r:
        yield r
