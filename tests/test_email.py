"""Email channel against aiosmtpd on 127.0.0.1: outcomes, TLS, credentials, headers, digests."""

from __future__ import annotations

import asyncio
import email
import email.policy
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from test_alerts_support import NOW, add_article, free_port, make_config, plan

from monitor.alerts import deliver_due
from monitor.alerts import email as email_channel
from monitor.alerts.outbox import digest_window_end
from monitor.store import Store


class Mailbox:
    """An aiosmtpd handler: answers DATA from ``replies`` first, then accepts and keeps."""

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.data_commands = 0
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[Any] = []
        self.logins: list[tuple[str, bool]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.data_commands += 1
        if self.replies:
            return self.replies.pop(0)
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(msg)  # type: ignore[arg-type]
        self.envelopes.append(envelope)
        return "250 2.0.0 OK queued"

    def authenticator(self, server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:
        ok = auth_data.login == b"desk" and auth_data.password == b"s3cret"
        self.logins.append((auth_data.login.decode(), session.ssl is not None))
        return AuthResult(success=ok)


@contextmanager
def smtp_server(box: Mailbox, **kw: Any) -> Iterator[int]:
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, **kw)
    controller.start()
    try:
        yield port
    finally:
        # let the server finish closing the last session (a TLS close takes a round trip)
        # before its loop is stopped, or the loop leaves that socket open
        time.sleep(0.1)
        controller.stop()


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1/localhost, made with the openssl command."""
    if not shutil.which("openssl"):
        pytest.skip("the openssl command is needed to make a test certificate")
    d = tmp_path_factory.mktemp("tls")
    key, crt = d / "key.pem", d / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(crt), "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return crt, key


def server_tls(cert: tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    return ctx


@pytest.fixture
def trust(cert: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the email channel trust the test certificate (the private hook)."""
    context = ssl.create_default_context(cafile=str(cert[0]))
    monkeypatch.setattr(email_channel, "_tls_context", context)


def mail(port: int, **kw: Any) -> dict[str, Any]:
    return {"name": "desk", "type": "email", "host": "127.0.0.1", "port": port,
            "from": "monitor@example.org", "to": ["desk@example.org"], "timeout": "5s", **kw}


def run(store: Store, config: Any, now: Any = NOW) -> Any:
    return asyncio.run(deliver_due(store, config, now=now))


def test_multipart_message_with_ids_and_highlights(store: Store):
    box = Mailbox()
    with smtp_server(box) as port:
        cfg = make_config([mail(port)])
        story = add_article(store)
        add_article(store, source="tass", url="https://tass.com/politics/1", duplicate_of=story)
        plan(store, cfg, story)
        report = run(store, cfg)
    assert (report.sent, report.retry, report.dead) == (1, 0, 0)
    [msg] = box.messages
    [alert] = store.alerts()
    assert msg["Message-ID"] == f"<{alert.id}@monitor>"
    assert msg["Date"] is not None and msg["Date"].datetime is not None
    # (Python folds a long Subject onto a continuation line; readers unfold it)
    subject = "[monitor] sanctions: Statement on new sanctions against shipping companies"
    assert msg["Subject"].strip() == subject
    assert msg["From"] == "monitor@example.org" and msg["To"] == "desk@example.org"
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "**sanctions**" in text and "<mark>sanctions</mark>" in html
    assert "https://mid.ru/en/foreign_policy/news/1798631/" in text
    assert "tass: https://tass.com/politics/1" in text
    assert 'href="https://tass.com/politics/1"' in html
    assert "2021-12-08 11:30 UTC" in text
    assert box.envelopes[0].rcpt_tos == ["desk@example.org"]


def test_smtp_down_is_retried(store: Store):
    cfg = make_config([mail(free_port())])
    plan(store, cfg, add_article(store))
    report = run(store, cfg)
    [alert] = store.alerts()
    assert report.retry == 1 and alert.status == "pending" and alert.attempts == 1
    assert "cannot reach 127.0.0.1" in (alert.last_error or "") or "SMTP" in alert.last_error


def test_421_and_451_then_250_is_delivered_exactly_once(store: Store):
    box = Mailbox("421 4.3.2 Service shutting down", "451 4.3.0 Temporary local problem")
    with smtp_server(box) as port:
        cfg = make_config([mail(port)])
        plan(store, cfg, add_article(store))
        now = NOW
        outcomes = []
        for _ in range(5):
            report = run(store, cfg, now)
            outcomes.append((report.sent, report.retry, report.dead))
            now += timedelta(hours=2)
    assert outcomes == [(0, 1, 0), (0, 1, 0), (1, 0, 0), (0, 0, 0), (0, 0, 0)]
    assert box.data_commands == 3 and len(box.messages) == 1
    [alert] = store.alerts()
    assert [a["outcome"] for a in store.attempts(alert.id)] == ["retry", "retry", "sent"]
    assert "421" in (store.attempts(alert.id)[0]["error"] or "")
    assert box.messages[0]["Message-ID"] == f"<{alert.id}@monitor>"


def test_550_is_dead_and_not_retried(store: Store):
    box = Mailbox("550 5.7.1 Message rejected as spam", "550 5.7.1 again")
    with smtp_server(box) as port:
        cfg = make_config([mail(port)])
        plan(store, cfg, add_article(store))
        first = run(store, cfg)
        later = run(store, cfg, NOW + timedelta(days=1))
    [alert] = store.alerts()
    assert (first.dead, later.total) == (1, 0)
    assert alert.status == "dead" and "550" in (alert.last_error or "")
    assert box.data_commands == 1


def test_starttls_with_verified_certificate_and_login(store: Store, cert, trust):
    box = Mailbox()
    with smtp_server(box, tls_context=server_tls(cert), authenticator=box.authenticator,
                     auth_require_tls=True) as port:
        cfg = make_config([mail(port, username="desk", password="s3cret")])
        plan(store, cfg, add_article(store))
        report = run(store, cfg)
    assert report.sent == 1, store.alerts()[0].last_error
    assert box.logins == [("desk", True)]  # logged in, over TLS
    assert len(box.messages) == 1


def test_implicit_tls(store: Store, cert, trust):
    box = Mailbox()
    with smtp_server(box, ssl_context=server_tls(cert)) as port:
        cfg = make_config([mail(port, ssl=True)])
        plan(store, cfg, add_article(store))
        report = run(store, cfg)
    assert report.sent == 1, store.alerts()[0].last_error
    assert len(box.messages) == 1


def test_untrusted_certificate_is_a_recorded_failure(store: Store, cert):
    box = Mailbox()
    with smtp_server(box, tls_context=server_tls(cert)) as port:
        cfg = make_config([mail(port, starttls=True)])
        plan(store, cfg, add_article(store))
        report = run(store, cfg)
    [alert] = store.alerts()
    assert report.retry == 1 and not box.messages
    assert "certificate verify failed" in (alert.last_error or "").lower()


def test_starttls_required_but_not_offered(store: Store):
    box = Mailbox()
    with smtp_server(box) as port:
        cfg = make_config([mail(port, starttls=True)])
        plan(store, cfg, add_article(store))
        report = run(store, cfg)
    [alert] = store.alerts()
    assert report.retry == 1 and not box.messages
    assert "starttls" in (alert.last_error or "").lower()


def test_credentials_are_never_sent_without_tls(store: Store):
    box = Mailbox()
    with smtp_server(box, authenticator=box.authenticator, auth_require_tls=False) as port:
        cfg = make_config([mail(port, username="desk", password="s3cret")])
        plan(store, cfg, add_article(store))
        report = run(store, cfg)
    [alert] = store.alerts()
    assert report.retry == 1 and not box.messages and not box.logins
    assert "refusing to send credentials without TLS" in (alert.last_error or "")


def test_credentials_with_starttls_off_are_dead(store: Store):
    cfg = make_config([mail(free_port(), username="desk", password="s3cret", starttls=False)])
    plan(store, cfg, add_article(store))
    report = run(store, cfg)
    [alert] = store.alerts()
    assert report.dead == 1
    assert "refusing to send credentials without TLS" in (alert.last_error or "")


def test_title_with_crlf_cannot_inject_headers(store: Store):
    box = Mailbox()
    evil = "Sanctions\r\nBcc: victim@example.net\r\nX-Injected: yes\nReply-To: evil@example.net"
    with smtp_server(box) as port:
        cfg = make_config([mail(port)])
        plan(store, cfg, add_article(store, title=evil))
        assert run(store, cfg).sent == 1
    [msg] = box.messages
    assert msg["Bcc"] is None and msg["X-Injected"] is None and msg["Reply-To"] is None
    assert "\n" not in msg["Subject"] and "\r" not in msg["Subject"]
    expected = "[monitor] sanctions: Sanctions Bcc: victim@example.net X-Injected: yes"
    assert msg["Subject"].strip().startswith(expected)
    assert box.envelopes[0].rcpt_tos == ["desk@example.org"]
    raw = box.envelopes[0].content
    assert b"\r\nBcc:" not in raw and b"\r\nX-Injected:" not in raw


def test_digest_is_one_message_listing_every_alert(store: Store):
    box = Mailbox()
    with smtp_server(box) as port:
        rules = [{"name": "sanctions", "query": "sanctions", "notify": ["desk"], "digest": "1h"}]
        cfg = make_config([mail(port)], rules)
        titles = [f"Sanctions statement number {i}" for i in range(3)]
        for i, title in enumerate(titles):
            plan(store, cfg, add_article(store, title=title, url=f"https://mid.ru/en/{i}"),
                 now=NOW + timedelta(minutes=i))
        assert run(store, cfg, NOW + timedelta(minutes=5)).total == 0  # window still open
        end = digest_window_end(NOW, 3600)
        report = run(store, cfg, end)
    assert (report.sent, report.messages) == (3, 1)
    [msg] = box.messages
    assert msg["Subject"].strip() == "[monitor] sanctions: 3 new matches"
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert all(t in text for t in titles)
    ids = sorted(a.id for a in store.alerts())
    from monitor.alerts.message import digest_id

    assert msg["Message-ID"] == f"<{digest_id(ids)}@monitor>"


@pytest.fixture(autouse=True)
def _collect_garbage() -> Iterator[None]:
    """Collect after each test, so a leaked socket is reported by the test that leaked it."""
    yield
    import gc

    gc.collect()
