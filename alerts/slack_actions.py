"""What a click on an alert's button does: Claim, Take over, Resolve, Not an issue.

Only rota members may act (the Slack user id is mapped to a responder); the owner is
locked: claiming, resolving or dismissing a complaint someone else owns is refused with a
"Take over" button (with a confirmation), and only that button takes it over. The state
change itself is alerts.lifecycle's (the "desk"), which records the actor and writes the
``complaint_event`` notification; the caller commits here, then the complaint's outbox
rows are delivered at once so the thread and the alert change while the responder looks.

Whoever is refused (not on the rota, lost a claim race, complaint closed) is told
privately through the click's ``response_url`` (an ephemeral message).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from slack_sdk.webhook import WebhookClient
from sqlalchemy.orm import Session, sessionmaker

from alerts.complaint_events import slack_id
from alerts.config import RotaSettings
from alerts.errors import AlreadyClaimed, ComplaintError
from alerts.rota import responder_by_slack_id
from alerts.slack_blocks import (
    ACTION_IDS,
    CLAIM,
    DISMISS,
    FINAL_STATUSES,
    RESOLVE,
    STATUS_LABELS,
    TAKE_OVER,
    escape,
    mention,
    take_over_button,
)
from storage.models import Complaint

log = logging.getLogger(__name__)

RESPONSE_TIMEOUT_SECONDS = 5


class Desk(Protocol):
    """The complaint lifecycle: the module alerts.lifecycle (CONTRACTS.md) is one; it
    raises alerts.errors and leaves the commit to the caller."""

    def claim(
        self,
        session: Session,
        complaint_id: int,
        actor: str,
        now: datetime,
        *,
        take_over: bool,
        slack_id_of: Callable[[str], str | None] | None,
    ) -> Complaint: ...

    def resolve(
        self, session: Session, complaint_id: int, actor: str, now: datetime
    ) -> Complaint: ...

    def dismiss(
        self, session: Session, complaint_id: int, actor: str, now: datetime
    ) -> Complaint: ...


@dataclass(frozen=True)
class ButtonClick:
    """The parts of a ``block_actions`` payload uproar needs."""

    action_id: str
    complaint_id: int
    user_id: str
    response_url: str | None
    channel_id: str | None
    message_ts: str | None


@dataclass(frozen=True)
class Outcome:
    """What a click did: ``done`` (the action happened) or ``refused``, and what the
    clicking user was told (None when the alert itself shows the change)."""

    result: str
    told: str | None = None
    owner: str | None = None  # refused because this person (mrkdwn) owns it: offer Take over


def parse_click(payload: Mapping[str, Any]) -> ButtonClick | None:
    """The first uproar button in a ``block_actions`` payload, or None."""
    if payload.get("type") != "block_actions":
        return None
    user_id = str((payload.get("user") or {}).get("id") or "")
    for action in payload.get("actions") or []:
        action_id = str(action.get("action_id") or "")
        value = str(action.get("value") or "")
        if action_id in ACTION_IDS and value.isdigit() and user_id:
            container = payload.get("container") or {}
            return ButtonClick(
                action_id=action_id,
                complaint_id=int(value),
                user_id=user_id,
                response_url=payload.get("response_url"),
                channel_id=(payload.get("channel") or {}).get("id") or container.get("channel_id"),
                message_ts=container.get("message_ts") or (payload.get("message") or {}).get("ts"),
            )
    return None


def ephemeral(text: str, blocks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A response_url body only the clicking user sees; the alert itself is left alone."""
    body: dict[str, Any] = {"response_type": "ephemeral", "replace_original": False, "text": text}
    if blocks:
        body["blocks"] = blocks
    return body


def post_to_response_url(url: str, body: dict[str, Any]) -> None:
    """Answer a click through its response_url (slack_sdk's WebhookClient)."""
    response = WebhookClient(url, timeout=RESPONSE_TIMEOUT_SECONDS).send_dict(body)
    if response.status_code != 200:
        log.warning("response_url answered %s: %s", response.status_code, response.body)


def _owned_by_other(complaint: Complaint, actor: str) -> bool:
    return bool(complaint.owner) and complaint.owner != actor


class ActionHandler:
    """Carries out clicks. Everything it needs is injected: the database, the rota (as
    a function of the session, so stored overrides can count), the desk, the clock, how
    to answer the user, and what to run after a change (deliver the complaint's outbox)."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        desk: Desk,
        rota: Callable[[Session], RotaSettings],
        clock: Callable[[], datetime],
        respond: Callable[[str, dict[str, Any]], None] = post_to_response_url,
        after_change: Callable[[int], None] | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.desk = desk
        self.rota = rota
        self.clock = clock
        self.respond = respond
        self.after_change = after_change

    def __call__(self, click: ButtonClick) -> Outcome:
        try:
            outcome = self._act(click)
        except Exception:
            log.exception("a %s click on complaint %s failed", click.action_id, click.complaint_id)
            outcome = Outcome(
                "refused", f"Something went wrong with complaint #{click.complaint_id}; try again."
            )
        if outcome.told and click.response_url:
            try:
                self.respond(click.response_url, self._body(click, outcome))
            except Exception:
                log.exception("could not answer a click through its response_url")
        if outcome.result == "done" and self.after_change is not None:
            try:
                self.after_change(click.complaint_id)
            except Exception:
                log.exception("delivering complaint %s after a click failed", click.complaint_id)
        return outcome

    def _body(self, click: ButtonClick, outcome: Outcome) -> dict[str, Any]:
        text = outcome.told or ""
        blocks: list[dict[str, Any]] = [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}}
        ]
        if outcome.owner:
            button = take_over_button(click.complaint_id, outcome.owner)
            blocks.append({"type": "actions", "elements": [button]})
        return ephemeral(text, blocks)

    def _owner_told(self, complaint_id: int, owner: str, rota: RotaSettings, what: str) -> Outcome:
        shown = self._mention_name(rota, owner)
        return Outcome(
            "refused",
            f"Complaint #{complaint_id} is owned by {shown}, so you cannot {what} it. "
            "Use *Take over* if you are taking it from them.",
            owner=shown,
        )

    @staticmethod
    def _mention_name(rota: RotaSettings, name: str) -> str:
        for responder in rota.responders:
            if responder.name == name:
                return mention(responder)
        return escape(name)

    def _act(self, click: ButtonClick) -> Outcome:
        now = self.clock()
        with self.session_factory() as session:
            rota = self.rota(session)
            responder = responder_by_slack_id(rota, click.user_id)
            if responder is None:
                return Outcome(
                    "refused",
                    "Only people on the response rota can act on complaints; ask the rota "
                    f"lead to add your Slack user id ({escape(click.user_id)}) to the rota.",
                )
            actor = responder.name
            complaint = session.get(Complaint, click.complaint_id)
            if complaint is None:
                return Outcome("refused", f"There is no complaint #{click.complaint_id}.")
            if complaint.status in FINAL_STATUSES:
                label = STATUS_LABELS.get(complaint.status, complaint.status)
                return Outcome("refused", f"Complaint #{complaint.id} is closed ({label}).")
            owner = complaint.owner
            if click.action_id != TAKE_OVER and owner and _owned_by_other(complaint, actor):
                verb = {CLAIM: "claim", RESOLVE: "resolve", DISMISS: "dismiss"}[click.action_id]
                return self._owner_told(complaint.id, owner, rota, verb)
            try:
                self._call_desk(session, click, actor, now, rota)
            except AlreadyClaimed as exc:  # lost a race: someone else got there first
                session.rollback()
                verb = "claim" if click.action_id in (CLAIM, TAKE_OVER) else "change"
                return self._owner_told(click.complaint_id, exc.owner, rota, verb)
            except ComplaintError as exc:
                session.rollback()
                return Outcome("refused", f"Complaint #{click.complaint_id}: {escape(str(exc))}")
            session.commit()
        return Outcome("done")

    def _call_desk(
        self, session: Session, click: ButtonClick, actor: str, now: datetime, rota: RotaSettings
    ) -> None:
        complaint_id = click.complaint_id
        if click.action_id in (CLAIM, TAKE_OVER):
            take_over = click.action_id == TAKE_OVER
            self.desk.claim(
                session,
                complaint_id,
                actor,
                now,
                take_over=take_over,
                slack_id_of=lambda name: slack_id(rota, name),
            )
        elif click.action_id == RESOLVE:
            self.desk.resolve(session, complaint_id, actor, now)
        elif click.action_id == DISMISS:
            self.desk.dismiss(session, complaint_id, actor, now)
