"""Shared by the Slack tests: a two-person rota, complaints opened the real way, a real
WebClient pointed at LocalSlackServer, and Slack-style signed interactivity requests."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerts.complaints import open_complaints
from alerts.config import DeadlineSettings, RotaSettings, SlackSettings, ThresholdSettings
from alerts.local_slack import LocalSlackServer
from alerts.slack import RetryPolicy, SlackSender, make_slack_client
from storage.db import session_scope
from storage.models import Complaint
from tests.test_alerts_complaints import add_post

NOW = datetime(2024, 5, 17, 12, 0, tzinfo=UTC)
TOKEN = "xoxb-local-test"
CHANNEL = "#uproar-alerts"
ANA, BEN, STRANGER = "U01ANA", "U02BEN", "U09NOPE"
ROTA = RotaSettings.model_validate(
    {
        "responders": [
            {"name": "ana", "slack_id": ANA},
            {"name": "ben", "slack_id": BEN},
        ],
        "shifts": [{"responder": "ana", "start": "00:00", "end": "00:00"}],
    }
)


def sender_for(
    server: LocalSlackServer,
    *,
    timeout: float = 2.0,
    retry: RetryPolicy | None = None,
    waits: list[float] | None = None,
) -> SlackSender:
    """A SlackSender with the real WebClient; ``waits`` collects the backoff sleeps
    instead of sleeping them."""
    settings = SlackSettings(
        enabled=True, base_url=server.base_url, token_env="T", timeout_seconds=timeout
    )
    client = make_slack_client(settings, {"T": TOKEN})
    sleep = waits.append if waits is not None else (lambda _seconds: None)
    return SlackSender(client, CHANNEL, retry=retry, sleep=sleep)


def open_complaint(
    factory: sessionmaker[Session], name: str = "a", text: str = "Parcel lost again"
) -> int:
    """One complaint opened by the real triage (its alert waiting in the outbox)."""
    with session_scope(factory) as session:
        add_post(session, name, text, 0.95, followers=20_000)
        open_complaints(session, ThresholdSettings(), DeadlineSettings(), ROTA, NOW)
    with session_scope(factory) as session:
        complaint_id = session.execute(
            select(Complaint.id).order_by(Complaint.id.desc()).limit(1)
        ).scalar_one()
    return int(complaint_id)


def complaint(factory: sessionmaker[Session], complaint_id: int) -> Complaint:
    with session_scope(factory) as session:
        found = session.get(Complaint, complaint_id)
        assert found is not None
        session.expunge(found)
        return found


def signature(secret: str, timestamp: str, body: str) -> str:
    """What Slack sends in X-Slack-Signature (v0, HMAC-SHA256 of ``v0:ts:body``)."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(secret: str, timestamp: int, body: str) -> dict[str, str]:
    return {
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": signature(secret, str(timestamp), body),
        "Content-Type": "application/x-www-form-urlencoded",
    }


def click_body(
    action_id: str,
    complaint_id: int,
    user_id: str,
    response_url: str | None,
    message_ts: str = "1.000001",
) -> str:
    """A ``block_actions`` request body as Slack posts it (form field ``payload``)."""
    payload = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_id.lower(), "team_id": "T0LOCAL"},
        "api_app_id": "A0UPROAR",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": "C00000001"},
        "channel": {"id": "C00000001", "name": "uproar-alerts"},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "complaint_actions",
                "value": str(complaint_id),
                "action_ts": "1715947200.000001",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})
