"""Logging: text and JSON lines, and secrets never reaching the log (messages, extras,
tracebacks)."""

from __future__ import annotations

import io
import json
import logging

import pytest

from monitor.config import parse_config
from monitor.logsetup import (
    clear_secrets,
    config_secrets,
    redact,
    register_secrets,
    setup_logging,
)

CONFIG = """
sources:
  - name: portal
    url: https://reader:s3cr3t-pw@portal.example.org/feed
    headers: {Authorization: "Bearer tok-abcdef123456", Accept-Language: en}
channels:
  - type: email
    name: ops
    host: smtp.example.org
    username: bot
    password: "pa55word-xyz"
    from: bot@example.org
    to: [ops@example.org]
  - type: webhook
    name: hook
    url: https://hooks.example.org/in
    secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
    headers: {X-Api-Key: "key-0987654321"}
"""
SECRETS = ["s3cr3t-pw", "tok-abcdef123456", "pa55word-xyz", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
           "key-0987654321"]


@pytest.fixture
def logged():
    """Set up logging into a buffer, with the config's secrets registered."""
    clear_secrets()
    register_secrets(config_secrets(parse_config(CONFIG)))
    buf = io.StringIO()
    handlers: list[logging.Handler] = []

    def install(fmt: str = "text") -> io.StringIO:
        handlers.append(setup_logging("debug", fmt, stream=buf))
        return buf

    yield install
    root = logging.getLogger()
    for h in handlers:
        root.removeHandler(h)
    clear_secrets()


def test_config_secrets_finds_every_secret() -> None:
    found = config_secrets(parse_config(CONFIG))
    for secret in SECRETS:
        assert secret in found
    assert "en" not in found  # Accept-Language is not a secret


@pytest.mark.parametrize(
    ("text", "leak"),
    [
        ("GET https://user:hunter22@example.org/x failed", "hunter22"),
        ("smtp://mailer:Zx9-long@mail.example.org:587", "Zx9-long"),
        ("retrying https://example.org/api?token=abc123def&x=1", "abc123def"),
        ("login with password=correct-horse", "correct-horse"),
        ('{"api_key": "k-1234567"}', "k-1234567"),
        ("Authorization: Bearer eyJhbGciOi.payload.sig", "eyJhbGciOi"),
        ("secret is whsec_QUJDREVGR0hJSktMTU5PUA==", "QUJDREVGR0hJSktMTU5PUA=="),
    ],
)
def test_redact_patterns(text: str, leak: str) -> None:
    out = redact(text)
    assert leak not in out
    assert "***" in out


def test_redact_keeps_ordinary_text() -> None:
    text = "kremlin: 3 new, 0 updated (https://en.kremlin.ru/events/president/news/feed)"
    assert redact(text) == text


def test_text_log_hides_secrets_in_message_args_extra_and_traceback(logged) -> None:
    buf = logged("text")
    log = logging.getLogger("monitor.test")
    log.info("fetching %s", "https://reader:s3cr3t-pw@portal.example.org/feed",
             extra={"source": "portal", "header": "Bearer tok-abcdef123456"})
    try:
        raise RuntimeError("SMTP login failed for bot with pa55word-xyz")
    except RuntimeError:
        log.exception("delivery to %s failed", "ops")
    try:
        raise ValueError("signing with whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw key-0987654321")
    except ValueError as exc:
        log.error("webhook failed", exc_info=exc)
    out = buf.getvalue()
    for secret in SECRETS:
        assert secret not in out, secret
    assert "fetching https://reader:***@portal.example.org/feed" in out
    assert "Traceback" in out and "RuntimeError" in out and "source=portal" in out
    assert " INFO " in out and "monitor.test:" in out


def test_json_lines(logged) -> None:
    buf = logged("json")
    log = logging.getLogger("monitor.test")
    log.warning("source %s failed: %s", "portal", "HTTP 503", extra={"source": "portal"})
    try:
        raise RuntimeError("password=pa55word-xyz rejected")
    except RuntimeError:
        log.exception("boom")
    lines = [json.loads(x) for x in buf.getvalue().splitlines()]
    assert len(lines) == 2
    first, second = lines
    assert first["level"] == "warning" and first["logger"] == "monitor.test"
    assert first["msg"] == "source portal failed: HTTP 503" and first["source"] == "portal"
    assert first["ts"].endswith("+00:00")
    assert "RuntimeError" in second["exc"] and "pa55word-xyz" not in second["exc"]


def test_setup_logging_twice_keeps_one_handler(logged) -> None:
    logged("text")
    buf = logged("json")
    logging.getLogger("monitor.test").info("once")
    assert len(buf.getvalue().splitlines()) == 1
