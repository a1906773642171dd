"""Logging: readable text lines on a terminal, JSON lines for machines, secrets never shown.

``setup_logging(level, fmt)`` installs one stderr handler on the root logger. Every record goes
through ``RedactingFilter`` on that handler (so records of other libraries are covered too):
the message, its arguments, extra fields and the formatted traceback are scrubbed of

* credentials in URLs (``https://user:pass@host`` → ``https://user:***@host``),
* ``password=``, ``token=``, ``secret=``, ``api_key=`` style pairs and ``Authorization`` values,
* Standard Webhooks secrets (``whsec_...``),
* every secret value the config holds (``register_secrets(config_secrets(config))``).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.config import Config

MASK = "***"
_URL_CREDENTIALS = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^/\s:@]*):[^/\s@]*@", re.I
)
_PAIRS = re.compile(
    r"(?P<key>\b(?:password|passwd|pwd|secret|token|access_token|refresh_token|api[_-]?key"
    r"|apikey|auth|sig|signature|client_secret)\b[\"']?\s*[=:]\s*)(?P<q>[\"']?)(?P<value>[^\s\"'&,;]+)",
    re.I,
)
_AUTH_HEADER = re.compile(
    r"(?P<key>\b(?:authorization|proxy-authorization|cookie|x-api-key)\b[\"']?\s*[:=]\s*[\"']?)"
    r"(?P<value>(?:(?:bearer|basic|token)\s+)?[^\s\"',;]+)",
    re.I,
)
_WHSEC = re.compile(r"whsec_[A-Za-z0-9+/=]+")

_lock = threading.Lock()
_secrets: set[str] = set()
_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def register_secrets(values: Iterable[str | None]) -> None:
    """Remember secret values (passwords, tokens) so they are masked wherever they appear."""
    with _lock:
        for value in values:
            if value and len(value) >= 4:
                _secrets.add(value)


def clear_secrets() -> None:
    with _lock:
        _secrets.clear()


def config_secrets(config: Config) -> set[str]:
    """The secret values a config holds: passwords, webhook secrets, credential headers."""
    from urllib.parse import urlsplit

    out: set[str] = set()
    sensitive = re.compile(r"auth|token|key|secret|cookie|pass", re.I)
    for channel in config.channels:
        for attr in ("password", "secret"):
            value = getattr(channel, attr, None)
            if value:
                out.add(value)
                if value.startswith("whsec_"):
                    out.add(value[6:])
        for name, value in getattr(channel, "headers", {}).items():
            if sensitive.search(name):
                out.update(_header_secrets(value))
        url = getattr(channel, "url", None)
        if url and urlsplit(url).password:
            out.add(str(urlsplit(url).password))
    for source in config.sources:
        for name, value in source.headers.items():
            if sensitive.search(name):
                out.update(_header_secrets(value))
        if urlsplit(source.url).password:
            out.add(str(urlsplit(source.url).password))
    return {v for v in out if v}


def _header_secrets(value: str) -> set[str]:
    """``Bearer abc`` → the whole value and the credential after the scheme word."""
    parts = value.split()
    return {value, parts[-1]} if parts else set()


def redact(text: str) -> str:
    """``text`` with every secret it contains replaced by ``***``."""
    if not text:
        return text
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, MASK)
    text = _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    text = _WHSEC.sub("whsec_" + MASK, text)
    text = _AUTH_HEADER.sub(lambda m: f"{m['key']}{MASK}", text)
    text = _PAIRS.sub(lambda m: f"{m['key']}{m['q']}{MASK}", text)
    return text


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact_value(v) for v in value)
    return value


class RedactingFilter(logging.Filter):
    """Scrub secrets from a record's message, extra fields and traceback before formatting."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what we can
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        # The traceback is now text; dropping exc_info stops formatters re-rendering it raw.
        record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRS:
                setattr(record, key, _redact_value(value))
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS and k[0] != "_"}


class TextFormatter(logging.Formatter):
    """``2026-11-28 00:12:03 INFO  monitor.scheduler: kremlin: 3 new  source=kremlin``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = _extras(record)
        if extras:
            tail = " ".join(f"{k}={v}" for k, v in extras.items())
            head, sep, rest = line.partition("\n")
            line = f"{head}  {tail}{sep}{rest}"
        return line


class JSONFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, extra fields, exc."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in _extras(record).items():
            out[key] = value if isinstance(value, str | int | float | bool | None) else str(value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exc"] = record.exc_text
        if record.stack_info:
            out["stack"] = record.stack_info
        return json.dumps(out, ensure_ascii=False)


_handler: logging.Handler | None = None


def setup_logging(
    level: str = "info", fmt: str = "text", *, stream: IO[str] | None = None
) -> logging.Handler:
    """Install (or replace) monitor's log handler on the root logger. Safe to call again."""
    global _handler
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
        _handler.close()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JSONFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Chatty libraries stay at warning unless we debug.
    quiet = logging.DEBUG if level == "debug" else logging.WARNING
    for name in ("httpx", "httpcore", "aiohttp", "asyncio"):
        logging.getLogger(name).setLevel(quiet)
    # APScheduler warns per skipped run; the scheduler sums those up itself.
    logging.getLogger("apscheduler").setLevel(logging.DEBUG if level == "debug" else logging.ERROR)
    _handler = handler
    return handler
