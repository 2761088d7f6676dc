"""POST /slack/actions: signatures, the replay window, rota membership, the owner lock and
a claim race, through FastAPI's TestClient and a real uvicorn on port 0, with the real
lifecycle, the real outbox and the real WebClient against LocalSlackServer."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerts import lifecycle
from alerts.local_slack import LocalSlackServer
from alerts.outbox import deliver_pending
from alerts.slack_actions import ActionHandler, Desk
from alerts.slack_app import ACTIONS_PATH, RequestVerifier, create_slack_app
from alerts.slack_blocks import CLAIM, DISMISS, RESOLVE, TAKE_OVER
from flows.config import UproarConfig
from flows.slack_server import running, slack_actions
from storage.db import open_database, session_scope
from storage.models import ComplaintEvent
from tests.slack_helpers import (
    ANA,
    BEN,
    NOW,
    ROTA,
    STRANGER,
    TOKEN,
    click_body,
    complaint,
    open_complaint,
    sender_for,
    signed_headers,
)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CLOCK = 1_715_947_500  # the endpoint's "now" (Unix seconds), so stale means stale
ACTED_AT = NOW + timedelta(minutes=5)


@pytest.fixture
def slack() -> Iterator[LocalSlackServer]:
    with LocalSlackServer(token=TOKEN) as server:
        yield server


def build_app(
    factory: sessionmaker[Session], slack: LocalSlackServer, desk: Desk = lifecycle
) -> FastAPI:
    sender = sender_for(slack)

    def deliver(complaint_id: int) -> None:
        deliver_pending(factory, sender, ACTED_AT, rota=ROTA, complaint_id=complaint_id)

    handler = ActionHandler(
        factory, desk=desk, rota=lambda _s: ROTA, clock=lambda: ACTED_AT, after_change=deliver
    )
    return create_slack_app(RequestVerifier(SECRET, clock=lambda: CLOCK), handler)


@pytest.fixture
def alert(session_factory, slack) -> int:
    """A complaint whose alert is already in Slack."""
    complaint_id = open_complaint(session_factory)
    assert deliver_pending(session_factory, sender_for(slack), NOW, rota=ROTA).delivered == 1
    return complaint_id


def post(client: TestClient, body: str, headers: dict[str, str]) -> httpx.Response:
    return client.post(ACTIONS_PATH, content=body, headers=headers)


def click(
    client: TestClient,
    slack: LocalSlackServer,
    action: str,
    complaint_id: int,
    user: str,
    name: str = "1",
) -> httpx.Response:
    body = click_body(action, complaint_id, user, slack.response_url(name))
    return post(client, body, signed_headers(SECRET, CLOCK, body))


def events(factory: sessionmaker[Session], complaint_id: int) -> list[tuple[str, str]]:
    with session_scope(factory) as session:
        rows = session.execute(
            select(ComplaintEvent.action, ComplaintEvent.actor)
            .where(ComplaintEvent.complaint_id == complaint_id)
            .order_by(ComplaintEvent.id)
        ).all()
    return [(action, actor) for action, actor in rows]


# ---------------------------------------------------------------- who may call at all


def test_a_valid_click_claims_threads_and_updates_the_alert(session_factory, slack, alert) -> None:
    client = TestClient(build_app(session_factory, slack))
    answer = click(client, slack, CLAIM, alert, ANA)
    assert answer.status_code == 200 and answer.content == b""

    claimed = complaint(session_factory, alert)
    assert (claimed.status, claimed.owner, claimed.claimed_at) == ("claimed", "ana", ACTED_AT)
    assert events(session_factory, alert) == [("opened", "uproar"), ("claimed", "ana")]
    parent = slack.top_level()[0]
    (reply,) = slack.replies(parent["ts"])
    assert f"#{alert} claimed by ana" in reply["text"]
    update = slack.updates[-1]
    assert update["ts"] == parent["ts"]
    assert f"*Claimed* · owner <@{ANA}>" in str(update["blocks"])
    assert "uproar_take_over" in str(update["blocks"]) and CLAIM not in str(update["blocks"])
    assert slack.responses == []  # the winner sees the alert change; nobody is told off


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("wrong secret", "invalid signature"),
        ("tampered body", "invalid signature"),
        ("stale", "stale request"),
        ("from the future", "stale request"),
        ("no signature", "missing X-Slack-Signature"),
        ("bad timestamp", "malformed X-Slack-Request-Timestamp"),
    ],
)
def test_forged_and_stale_requests_are_refused(
    session_factory, slack, alert, case, expected
) -> None:
    client = TestClient(build_app(session_factory, slack))
    body = click_body(CLAIM, alert, ANA, slack.response_url())
    headers = {
        "wrong secret": signed_headers("not-the-secret", CLOCK, body),
        "tampered body": signed_headers(SECRET, CLOCK, body.replace(ANA, BEN)),
        "stale": signed_headers(SECRET, CLOCK - 301, body),
        "from the future": signed_headers(SECRET, CLOCK + 301, body),
        "no signature": {"X-Slack-Request-Timestamp": str(CLOCK)},
        "bad timestamp": signed_headers(SECRET, CLOCK, body)
        | {"X-Slack-Request-Timestamp": "soon"},
    }[case]
    answer = post(client, body, headers)
    assert answer.status_code == 401
    assert expected in answer.json()["error"]
    assert complaint(session_factory, alert).status == "open"
    assert slack.responses == [] and slack.updates == []


def test_a_request_inside_the_window_is_accepted(session_factory, slack, alert) -> None:
    client = TestClient(build_app(session_factory, slack))
    body = click_body(CLAIM, alert, ANA, slack.response_url())
    assert post(client, body, signed_headers(SECRET, CLOCK - 299, body)).status_code == 200
    assert complaint(session_factory, alert).owner == "ana"


def test_an_exact_replay_inside_the_window_is_refused(session_factory, slack, alert) -> None:
    client = TestClient(build_app(session_factory, slack))
    body = click_body(DISMISS, alert, ANA, slack.response_url())
    headers = signed_headers(SECRET, CLOCK, body)
    assert post(client, body, headers).status_code == 200
    replayed = post(client, body, headers)
    assert replayed.status_code == 401 and replayed.json()["error"] == "replayed request"
    assert events(session_factory, alert) == [("opened", "uproar"), ("dismissed", "ana")]


def test_payloads_that_are_not_button_clicks(session_factory, slack, alert) -> None:
    client = TestClient(build_app(session_factory, slack))
    bad = "payload=not-json"
    assert post(client, bad, signed_headers(SECRET, CLOCK, bad)).status_code == 400
    other = 'payload={"type":"view_submission"}'
    assert post(client, other, signed_headers(SECRET, CLOCK, other)).status_code == 200
    assert complaint(session_factory, alert).status == "open"


# ---------------------------------------------------------------- what a member may do


def test_only_rota_members_may_act(session_factory, slack, alert) -> None:
    client = TestClient(build_app(session_factory, slack))
    assert click(client, slack, CLAIM, alert, STRANGER).status_code == 200
    assert complaint(session_factory, alert).status == "open"
    assert events(session_factory, alert) == [("opened", "uproar")]
    (told,) = slack.responses
    assert told["response_type"] == "ephemeral" and told["replace_original"] is False
    assert "Only people on the response rota" in told["text"] and STRANGER in told["text"]


def test_the_owner_is_locked_until_an_explicit_take_over(session_factory, slack, alert) -> None:
    client = TestClient(build_app(session_factory, slack))
    click(client, slack, CLAIM, alert, ANA)
    for action in (CLAIM, RESOLVE, DISMISS):
        click(client, slack, action, alert, BEN, name=action)
    assert complaint(session_factory, alert).owner == "ana"
    refusals = slack.responses
    assert len(refusals) == 3
    for told in refusals:
        assert f"owned by <@{ANA}>" in told["text"]
        (button,) = told["blocks"][1]["elements"]
        assert (button["action_id"], button["value"]) == (TAKE_OVER, str(alert))
        assert "confirm" in button

    click(client, slack, TAKE_OVER, alert, BEN)
    taken = complaint(session_factory, alert)
    assert (taken.owner, taken.status) == ("ben", "claimed")
    assert events(session_factory, alert)[-1] == ("taken_over", "ben")
    parent = slack.top_level()[0]
    assert "taken over by ben from ana" in slack.replies(parent["ts"])[-1]["text"]
    assert f"owner <@{BEN}>" in str(slack.updates[-1]["blocks"])

    click(client, slack, RESOLVE, alert, BEN)
    resolved = complaint(session_factory, alert)
    assert (resolved.status, resolved.resolved_at) == ("resolved", ACTED_AT)
    assert events(session_factory, alert)[-1] == ("resolved", "ben")
    assert '"actions"' not in str(slack.updates[-1]["blocks"]).replace("'", '"')
    click(client, slack, CLAIM, alert, ANA, name="late")
    assert "is closed (Resolved)" in slack.responses[-1]["text"]


# ---------------------------------------------------------------- timing and races


class HeldDesk:
    """The real lifecycle, but each call waits until the test lets it go: proves the HTTP
    answer left before any database work started (no timing involved)."""

    def __init__(self) -> None:
        self.go = threading.Event()
        self.entered = threading.Event()

    def claim(
        self,
        session: Session,
        complaint_id: int,
        actor: str,
        now: Any,
        *,
        take_over: bool,
        slack_id_of: Any = None,
    ):
        self.entered.set()
        assert self.go.wait(30), "the test never released the desk"
        return lifecycle.claim(
            session, complaint_id, actor, now, take_over=take_over, slack_id_of=slack_id_of
        )

    def resolve(self, session: Session, complaint_id: int, actor: str, now: Any):
        return lifecycle.resolve(session, complaint_id, actor, now)

    def dismiss(self, session: Session, complaint_id: int, actor: str, now: Any):
        return lifecycle.dismiss(session, complaint_id, actor, now)


def wait_for(condition, what: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def test_the_click_is_acknowledged_before_the_work_is_done(session_factory, slack, alert) -> None:
    desk = HeldDesk()
    with running(build_app(session_factory, slack, desk), "127.0.0.1", 0) as url:
        body = click_body(CLAIM, alert, ANA, slack.response_url())
        answer = httpx.post(
            url + ACTIONS_PATH, content=body, headers=signed_headers(SECRET, CLOCK, body)
        )
        assert answer.status_code == 200
        assert not desk.go.is_set()
        assert complaint(session_factory, alert).status == "open"  # nothing done yet
        desk.go.set()
        wait_for(lambda: complaint(session_factory, alert).owner == "ana", "the claim")


def test_two_responders_claim_at_once_one_wins_the_other_is_told(
    session_factory, slack, alert
) -> None:
    with running(build_app(session_factory, slack), "127.0.0.1", 0) as url:
        start = threading.Barrier(2)
        answers: dict[str, int] = {}

        def press(user: str) -> None:
            body = click_body(CLAIM, alert, user, slack.response_url(user))
            headers = signed_headers(SECRET, CLOCK, body)
            start.wait(10)
            answers[user] = httpx.post(
                url + ACTIONS_PATH, content=body, headers=headers
            ).status_code

        threads = [threading.Thread(target=press, args=(user,)) for user in (ANA, BEN)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert answers == {ANA: 200, BEN: 200}
        wait_for(lambda: len(slack.responses) == 1, "the loser to be told")
        wait_for(lambda: len(slack.updates) >= 1, "the alert to show the owner")

    owner = complaint(session_factory, alert).owner
    assert owner in {"ana", "ben"}
    loser_id = BEN if owner == "ana" else ANA
    winner_id = ANA if owner == "ana" else BEN
    (told,) = slack.responses
    assert told["_url"].endswith(f"/actions/{loser_id}")
    assert f"owned by <@{winner_id}>" in told["text"]
    assert [a for a, _ in events(session_factory, alert)] == ["opened", "claimed"]
    parent = slack.top_level()[0]
    assert len(slack.replies(parent["ts"])) == 1  # one "claimed" reply, not two


# ---------------------------------------------------------------- as `uproar serve` runs it


def served_config(database_url: str, slack: LocalSlackServer) -> UproarConfig:
    return UproarConfig.model_validate(
        {
            "database": {"url": database_url},
            "slack": {"enabled": True, "base_url": slack.base_url, "token_env": "UPROAR_T"},
            "rota": ROTA.model_dump(),
        }
    )


def test_serve_runs_the_endpoint_from_the_config(
    sqlite_url, slack, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, factory = open_database(sqlite_url)
    complaint_id = open_complaint(factory)
    deliver_pending(factory, sender_for(slack), NOW, rota=ROTA)
    monkeypatch.setenv("UPROAR_T", TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    said: list[str] = []
    config = served_config(sqlite_url, slack)
    with slack_actions(config, 0, said.append) as url:
        assert url is not None and said == [f"Slack interactivity endpoint: {url}{ACTIONS_PATH}"]
        assert httpx.get(url + "/healthz").json() == {"ok": True}
        body = click_body(CLAIM, complaint_id, BEN, slack.response_url())
        headers = signed_headers(SECRET, int(time.time()), body)
        assert httpx.post(url + ACTIONS_PATH, content=body, headers=headers).status_code == 200
        wait_for(lambda: len(slack.updates) == 1, "the alert to show ben as owner")
    assert complaint(factory, complaint_id).owner == "ben"
    assert f"owner <@{BEN}>" in str(slack.updates[0]["blocks"])
    engine.dispose()


def test_serve_without_a_signing_secret_leaves_the_buttons_off(
    sqlite_url, slack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPROAR_T", TOKEN)
    monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)
    said: list[str] = []
    with slack_actions(served_config(sqlite_url, slack), 0, said.append) as url:
        assert url is None
    (line,) = said
    assert line.startswith("Slack buttons off:") and "SLACK_SIGNING_SECRET is not set" in line
