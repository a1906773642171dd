"""The exception tree of monitor.

Every error carries the context a user needs to act on it (the source, the URL, the file and line).

    MonitorError
    ├── ConfigError              bad YAML or settings: file, line, key, problem (one or many)
    ├── StorageError             the SQLite file cannot be opened, migrated or written
    ├── SourceError              one source's run failed; carries ``source`` and ``url``
    │   ├── FetchError           the HTTP exchange failed
    │   │   ├── TransportError   connection refused, DNS, TLS, reset
    │   │   ├── TimeoutError_    a phase or the total deadline ran out
    │   │   ├── HTTPStatusError  a 4xx/5xx answer (after retries)
    │   │   ├── TooLargeError    the decoded body passed ``fetch.max_bytes``
    │   │   ├── TooManyRedirects more than 5 redirects, or a loop
    │   │   ├── BlockedURLError  not http(s), a private address, or refused by robots.txt
    │   │   └── ...
    │   ├── ParseError           content is not what the source's type expects
    │   │   └── BotWallError     a challenge / "access denied" page instead of content
    │   └── ExtractError         an article page gave no title or no body
    ├── QueryError               a rule's query cannot be parsed: rule, position
    └── DeliveryError            one attempt to deliver an alert failed
        └── PermanentDeliveryError  it will never succeed (SMTP 5xx, webhook 410)

"Not modified" is not an error: it is ``FetchResult.not_modified``.
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base class of every error monitor raises on purpose."""


class ConfigError(MonitorError):
    """The configuration is invalid. ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class StorageError(MonitorError):
    pass


class SourceError(MonitorError):
    """A source's run failed. ``str(err)`` is the reason shown to the user."""

    def __init__(self, message: str, *, source: str | None = None, url: str | None = None) -> None:
        self.message = message
        self.source = source
        self.url = url
        super().__init__(message)

    def __str__(self) -> str:
        where = f" ({self.url})" if self.url else ""
        return f"{self.message}{where}"


class FetchError(SourceError):
    pass


class TransportError(FetchError):
    pass


class TimeoutError_(FetchError):  # noqa: N801 - avoid shadowing the builtin
    pass


class HTTPStatusError(FetchError):
    def __init__(
        self, message: str, *, status: int, source: str | None = None, url: str | None = None
    ) -> None:
        self.status = status
        super().__init__(message, source=source, url=url)


class TooLargeError(FetchError):
    pass


class TooManyRedirects(FetchError):
    pass


class BlockedURLError(FetchError):
    pass


class ParseError(SourceError):
    pass


class BotWallError(ParseError):
    pass


class ExtractError(SourceError):
    pass


class QueryError(MonitorError):
    def __init__(self, message: str, *, rule: str | None = None, position: int | None = None):
        self.rule = rule
        self.position = position
        super().__init__(message)


class DeliveryError(MonitorError):
    """One delivery attempt failed; it will be retried. ``retry_after`` in seconds, if known."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class PermanentDeliveryError(DeliveryError):
    """The delivery can never succeed: the alert is marked dead."""
