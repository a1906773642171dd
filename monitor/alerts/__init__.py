"""Alerts: the transactional outbox and the channels that deliver it (email, webhook, console).

    plan_alerts(store, config, *, rule, article_id, story_id, terms, now) -> int
    await deliver_due(store, config, *, now=None, limit=100) -> DeliveryReport
    CHANNELS: channel type -> sender class
"""

from __future__ import annotations

from monitor.alerts.channels import CHANNELS, open_sender
from monitor.alerts.message import Message, Sender
from monitor.alerts.outbox import (
    DeliveryReport,
    alert_id,
    deliver_due,
    plan_alerts,
    sample_message,
    send_now,
)

__all__ = [
    "CHANNELS",
    "DeliveryReport",
    "Message",
    "Sender",
    "alert_id",
    "deliver_due",
    "open_sender",
    "plan_alerts",
    "sample_message",
    "send_now",
]
