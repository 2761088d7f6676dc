"""Choosing where alerts go: Slack when it is on, the console otherwise."""

from __future__ import annotations

import os

from alerts.config import SlackSettings
from alerts.slack import ConsoleSender, Sender, SlackSender, make_slack_client


def build_sender(settings: SlackSettings) -> Sender:
    """A Slack sender (token from the environment) or the console.

    A missing token raises alerts.config.ConfigError naming the variable; the outbox
    keeps every notification pending until delivery works.
    """
    if not settings.enabled:
        return ConsoleSender()
    return SlackSender(make_slack_client(settings, os.environ), settings.channel)
