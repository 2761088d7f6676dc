"""Choosing where alerts go: Slack when it is on, the console otherwise."""

from __future__ import annotations

import os
from datetime import datetime

from sqlalchemy import func, select

from alerts.config import ConfigError as AlertsConfigError, SlackSettings
from alerts.outbox import DeliveryReport, deliver_pending
from alerts.slack import ConsoleSender, Sender, SlackSender, make_slack_client
from flows.config import UproarConfig
from storage.db import database, session_scope
from storage.models import Notification


def build_sender(settings: SlackSettings) -> Sender:
    """A Slack sender (token from the environment) or the console.

    A missing token raises alerts.config.ConfigError naming the variable; the outbox
    keeps every notification pending until delivery works.
    """
    if not settings.enabled:
        return ConsoleSender()
    return SlackSender(make_slack_client(settings, os.environ), settings.channel)


def deliver_outbox(config: UproarConfig, now: datetime) -> DeliveryReport:
    """Send what the outbox holds and bring alerts up to date; without a usable sender
    (e.g. the Slack token is not set) nothing is sent and the report says why. The monitor
    and escalate flows both deliver through this."""
    with database(config.database.url, upgrade_schema=False) as factory:
        try:
            sender = build_sender(config.slack)
        except AlertsConfigError as exc:
            with session_scope(factory) as session:
                pending = session.scalar(
                    select(func.count())
                    .select_from(Notification)
                    .where(Notification.status == "pending")
                )
            return DeliveryReport(pending=pending or 0, errors=[f"alerts not sent: {exc}"])
        return deliver_pending(factory, sender, now, rota=config.rota)
