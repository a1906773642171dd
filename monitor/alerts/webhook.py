"""The webhook channel: a signed JSON POST (Standard Webhooks), or a Slack-compatible message.

Headers: ``webhook-id`` (the message id: the same on every retry), ``webhook-timestamp`` (unix
seconds), ``webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` keyed with
the base64-decoded part of the ``whsec_`` secret; plus the channel's own ``headers``.

Outcomes: 2xx sent; 3xx failed (redirects are not followed: fix the URL), retried; 408, 425, 429
and 5xx retried (``Retry-After`` honoured); 410 and other 4xx dead; timeouts and connection
errors retried.

Bodies (``format: json``)::

    match   {"id", "type": "alert", "rule": {"name", "query"},
             "article": {"id", "url", "title", "source", "published_at", "language", "snippet"},
             "matched": [terms], "also": [{"source", "url", "title"}]}
    digest  {"id", "type": "digest", "rule": {...}, "count": n,
             "alerts": [{"id", "article": {...}, "matched": [...], "also": [...]}, ...]}
    health  {"id", "type": "health", "source", "state", "message"}
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import json
import ssl
import time
from datetime import UTC
from types import TracebackType
from typing import Any

import httpx

from monitor import __version__
from monitor.alerts.message import Message
from monitor.alerts.render import marked_text, render
from monitor.config import WebhookChannel
from monitor.errors import DeliveryError, PermanentDeliveryError

RETRYABLE_4XX = {408, 425, 429}
_TLS: ssl.SSLContext | None = None  # built once: loading the CA bundle takes ~0.1 s


def _tls_context() -> ssl.SSLContext:
    global _TLS
    if _TLS is None:
        _TLS = ssl.create_default_context()
    return _TLS
SLACK_BLOCKS = 45


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for one body."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def _article(view: dict[str, Any]) -> dict[str, Any]:
    a = view["article"]
    keys = ("id", "url", "title", "source", "published_at", "language", "snippet")
    return {k: a.get(k) for k in keys}


def json_payload(message: Message) -> dict[str, Any]:
    if message.kind == "health":
        h = message.alerts[0]
        return {"id": message.id, "type": "health", "source": h["source"],
                "state": h["state"], "message": h["message"]}
    rule = {"name": (message.rule or {}).get("name"), "query": (message.rule or {}).get("query")}
    items = [
        {"id": v["id"], "article": _article(v), "matched": list(v.get("matched", [])),
         "also": list(v.get("also", []))}
        for v in message.alerts
    ]
    if message.kind == "digest":
        return {"id": message.id, "type": "digest", "rule": rule, "count": len(items),
                "alerts": items}
    one = items[0]
    return {"id": message.id, "type": "alert", "rule": rule, "article": one["article"],
            "matched": one["matched"], "also": one["also"]}


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(message: Message) -> dict[str, Any]:
    """``{"text", "blocks"}`` for a Slack incoming webhook (mrkdwn, links as <url|title>)."""
    subject = render(message).subject
    blocks: list[dict[str, Any]] = []
    if message.kind == "health":
        h = message.alerts[0]
        body = (f"*Source {_slack_escape(h['source'])}: {_slack_escape(h['state'])}*\n"
                f"{_slack_escape(h['message'])}")
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": body[:2900]}})
        return {"text": subject, "blocks": blocks}
    rule = message.rule or {}
    if message.kind == "digest":
        name = _slack_escape(rule.get("name") or "")
        head = f"*{len(message.alerts)} new matches for rule `{name}`*"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": head}})
    for view in message.alerts[:SLACK_BLOCKS]:
        a = view["article"]
        spans = [tuple(s) for s in a.get("highlights", [])]
        snippet = _slack_escape(marked_text(a["snippet"], spans)).replace("**", "*")
        title = _slack_escape(a["title"]).replace("|", "¦")
        lines = [f"*<{a['url']}|{title}>*", f"_{_slack_escape(a['source'])}_", snippet]
        also = view.get("also") or []
        if also:
            lines.append("Also: " + ", ".join(
                f"<{o['url']}|{_slack_escape(o['source'])}>" for o in also[:10]))
        blocks.append({"type": "section",
                       "text": {"type": "mrkdwn", "text": "\n".join(lines)[:2900]}})
    if message.kind != "digest":
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": f"rule `{_slack_escape(rule.get('name') or '')}`"}]})
    return {"text": subject, "blocks": blocks}


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    base = now if now is not None else time.time()
    return max(0.0, when.timestamp() - base)


def classify(response: httpx.Response) -> None:
    """Return when the response means delivered; raise the right DeliveryError otherwise."""
    status = response.status_code
    if 200 <= status < 300:
        return
    reason = f"HTTP {status} {response.reason_phrase}".rstrip()
    text = response.text[:200].strip() if response.content else ""
    detail = f": {text}" if text else ""
    if 300 <= status < 400:
        where = response.headers.get("location", "?")
        raise DeliveryError(f"{reason}: redirect to {where} not followed (fix the webhook URL)")
    wait = retry_after(response.headers.get("retry-after"))
    if status == 410:
        raise PermanentDeliveryError(f"{reason}: the receiver is gone{detail}")
    if 400 <= status < 500 and status not in RETRYABLE_4XX:
        raise PermanentDeliveryError(f"{reason}{detail}")
    raise DeliveryError(f"{reason}{detail}", retry_after=wait)


class WebhookSender:
    kind = "webhook"

    def __init__(
        self, channel: WebhookChannel, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.channel = channel
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> WebhookSender:
        self._client = httpx.AsyncClient(
            timeout=self.channel.timeout,
            follow_redirects=False,
            transport=self._transport,
            verify=_tls_context(),
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def request(
        self, message: Message, *, timestamp: int | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """The body and headers of the POST for a message."""
        slack = self.channel.format == "slack"
        payload = slack_payload(message) if slack else json_payload(message)
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        ts = int(time.time()) if timestamp is None else timestamp
        headers = {
            "content-type": "application/json",
            "user-agent": f"monitor/{__version__}",
            **self.channel.headers,
            "webhook-id": message.id,
            "webhook-timestamp": str(ts),
        }
        if self.channel.secret:
            headers["webhook-signature"] = sign(self.channel.secret, message.id, ts, body)
        return body, headers

    async def send(self, message: Message) -> None:
        if self._client is None:
            raise RuntimeError("use 'async with WebhookSender(...)'")
        body, headers = self.request(message)
        try:
            response = await self._client.post(self.channel.url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise DeliveryError(
                f"timed out after {self.channel.timeout:g}s ({type(exc).__name__})"
            ) from exc
        except httpx.HTTPError as exc:
            reason = str(exc) or type(exc).__name__
            raise DeliveryError(f"cannot reach {self.channel.url}: {reason}") from exc
        classify(response)
