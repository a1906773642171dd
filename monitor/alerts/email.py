"""The email channel (aiosmtplib): multipart text + HTML, one message per alert or digest.

TLS: ``ssl: true`` is implicit TLS (port 465 by default); otherwise ``starttls: true`` requires
STARTTLS, ``false`` never uses it, and left out it is used when the server offers it.
Certificates are verified. A username and password are never sent over an unencrypted
connection. ``Message-ID`` is ``<alert-id@monitor>``, so a resent alert is recognisable.

Outcomes: accepted -> sent; a 5xx reply -> dead; 4xx, connection refused, timeouts, TLS
failures -> retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import aiosmtplib

from monitor.alerts.message import Message, Stateless
from monitor.alerts.render import Rendered, clean_subject, render
from monitor.config import EmailChannel
from monitor.errors import DeliveryError, PermanentDeliveryError
from monitor.timeutil import utcnow

log = logging.getLogger(__name__)

# Private hook for tests: the TLS context used instead of the system's default (custom CA).
_tls_context: ssl.SSLContext | None = None

NO_TLS_CREDENTIALS = "refusing to send credentials without TLS"


def default_port(channel: EmailChannel) -> int:
    if channel.port:
        return channel.port
    if channel.ssl:
        return 465
    return 25 if channel.starttls is False else 587


def build_message(channel: EmailChannel, message: Message, rendered: Rendered) -> EmailMessage:
    """The MIME message; the subject is one clean line, so a title cannot inject headers."""
    msg = EmailMessage()
    try:
        msg["Subject"] = clean_subject(rendered.subject)
        msg["From"] = channel.from_
        msg["To"] = ", ".join(channel.to)
        msg["Date"] = format_datetime(utcnow())
        msg["Message-ID"] = f"<{message.id}@monitor>"
        msg["X-Monitor-Kind"] = message.kind
        if message.rule and message.rule.get("name"):
            msg["X-Monitor-Rule"] = clean_subject(str(message.rule["name"]))
        msg.set_content(rendered.text)
        msg.add_alternative(rendered.html, subtype="html")
    except (ValueError, TypeError) as exc:
        raise PermanentDeliveryError(f"cannot build the email: {exc}") from exc
    return msg


def _smtp_error(exc: aiosmtplib.SMTPException) -> DeliveryError:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        text = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        if codes and all(c >= 500 for c in codes):
            return PermanentDeliveryError(f"all recipients refused: {text}")
        return DeliveryError(f"recipients refused: {text}")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        msg = f"SMTP {exc.code} {exc.message}"
        return PermanentDeliveryError(msg) if exc.code >= 500 else DeliveryError(msg)
    return DeliveryError(f"SMTP: {exc}")


class _SMTP(aiosmtplib.SMTP):
    """aiosmtplib.SMTP that can wait until its socket is really closed.

    Closing a TLS connection takes a round trip; a loop that ends first (``asyncio.run`` in
    ``monitor test-alert``) would leave the socket open, so ``send`` waits for ``lost``.
    """

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.lost = asyncio.Event()
        self.opened = False

    async def connect(self, **kw: Any) -> aiosmtplib.SMTPResponse:
        response = await super().connect(**kw)
        self.opened = True
        return response

    def _on_connection_lost(self, protocol: Any) -> None:
        super()._on_connection_lost(protocol)
        self.lost.set()


class EmailSender(Stateless):
    kind = "email"

    def __init__(self, channel: EmailChannel, *, tls_context: ssl.SSLContext | None = None) -> None:
        self.channel = channel
        self.tls_context = tls_context

    async def send(self, message: Message) -> None:
        rendered = render(message, self.channel.templates)
        await self.send_mime(build_message(self.channel, message, rendered))

    async def send_mime(self, msg: EmailMessage) -> None:
        ch = self.channel
        if ch.username and not ch.ssl and ch.starttls is False:
            raise PermanentDeliveryError(
                f"{NO_TLS_CREDENTIALS}: set ssl: true or leave starttls on"
            )
        context = self.tls_context or _tls_context or ssl.create_default_context()
        smtp = _SMTP(
            hostname=ch.host,
            port=default_port(ch),
            use_tls=ch.ssl,
            start_tls=False,  # done below, so a failed handshake closes its socket
            tls_context=context,
            timeout=ch.timeout,
        )
        where = f"{ch.host}:{default_port(ch)}"
        try:
            await smtp.connect()
            if not ch.ssl and ch.starttls is not False:
                await smtp.ehlo()
                if smtp.supports_extension("starttls"):
                    raw = smtp.transport
                    try:
                        await smtp.starttls()
                    except BaseException:
                        if isinstance(raw, asyncio.Transport):
                            raw.abort()
                        raise
                elif ch.starttls:
                    raise DeliveryError(f"{where} does not offer STARTTLS (starttls: true)")
            encrypted = smtp.get_transport_info("sslcontext") is not None
            if ch.username:
                if not encrypted:
                    raise DeliveryError(
                        f"{NO_TLS_CREDENTIALS}: {where} did not offer STARTTLS"
                    )
                await smtp.login(ch.username, ch.password or "")
            errors, _ = await smtp.send_message(msg)
            if errors:
                log.warning("email %s: some recipients refused: %s", msg["Message-ID"], errors)
            try:
                await smtp.quit()
            except (aiosmtplib.SMTPException, OSError):
                pass  # the message was accepted already
        except DeliveryError:
            raise
        except aiosmtplib.SMTPException as exc:
            raise _smtp_error(exc) from exc
        except ssl.SSLError as exc:
            raise DeliveryError(f"TLS failed with {where}: {exc}") from exc
        except (OSError, TimeoutError) as exc:
            raise DeliveryError(f"cannot reach {where}: {exc}") from exc
        finally:
            if smtp.is_connected:
                smtp.close()
            if smtp.opened:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(smtp.lost.wait(), 2)
