"""The complaint state machine and its clocks, as pure functions of values.

::

    open ──claim──▶ claimed ──respond──▶ responded ──resolve──▶ resolved
      │               │  ▲                  │  ▲                   │
      │               wait│resume          wait│resume/respond      reopen
      │               ▼  │                  ▼  │                    ▼
      │              waiting (on the customer: resolution clock paused)
      └──dismiss──▶ dismissed ("not an issue"; from any active state) ──reopen──▶

* ``claim`` is only for an ``open`` complaint; taking over someone else's claim is the
  ``take_over`` action on ``claimed`` / ``responded`` / ``waiting`` and keeps the status.
* ``resolve`` works from ``claimed`` too (Slack has no Respond button): the resolution then
  counts as the first response.
* ``resume`` goes back to ``responded`` when a response was recorded, else ``claimed``.
* ``reopen`` (new activity on a closed complaint) goes to ``claimed`` when the complaint
  has an owner, else ``open``.

Everything else raises :class:`~alerts.errors.InvalidTransition`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from alerts.config import format_duration
from alerts.errors import InvalidTransition

Status = Literal["open", "claimed", "responded", "waiting", "resolved", "dismissed"]
Action = Literal["claim", "take_over", "respond", "wait", "resume", "resolve", "dismiss", "reopen"]

STATUSES: tuple[Status, ...] = ("open", "claimed", "responded", "waiting", "resolved", "dismissed")
ACTIONS: tuple[Action, ...] = (
    "claim",
    "take_over",
    "respond",
    "wait",
    "resume",
    "resolve",
    "dismiss",
    "reopen",
)
ACTIVE: frozenset[Status] = frozenset({"claimed", "responded", "waiting"})
# Not closed: reach and priority still matter (triage re-checks these on every run).
STILL_HANDLED: tuple[Status, ...] = ("open", "claimed", "responded", "waiting")
CLOSED: frozenset[Status] = frozenset({"resolved", "dismissed"})

# The event name each action writes to the audit trail and the Slack thread.
EVENTS: dict[Action, str] = {
    "claim": "claimed",
    "take_over": "taken_over",
    "respond": "responded",
    "wait": "waiting",
    "resume": "resumed",
    "resolve": "resolved",
    "dismiss": "dismissed",
    "reopen": "reopened",
}

# A target is a status, or a rule choosing one from (responded before?, has an owner?).
Target = Status | Callable[[bool, bool], Status]


def _back_to_work(responded: bool, _owned: bool) -> Status:
    return "responded" if responded else "claimed"


def _reopened(_responded: bool, owned: bool) -> Status:
    return "claimed" if owned else "open"


TRANSITIONS: dict[Status, dict[Action, Target]] = {
    "open": {"claim": "claimed", "dismiss": "dismissed"},
    "claimed": {
        "take_over": "claimed",
        "respond": "responded",
        "wait": "waiting",
        "resolve": "resolved",
        "dismiss": "dismissed",
    },
    "responded": {
        "take_over": "responded",
        "respond": "responded",  # a further reply; the first one decided response_met
        "wait": "waiting",
        "resolve": "resolved",
        "dismiss": "dismissed",
    },
    "waiting": {
        "take_over": "waiting",
        "respond": "responded",  # the customer answered and we replied: clock runs again
        "resume": _back_to_work,
        "resolve": "resolved",
        "dismiss": "dismissed",
    },
    "resolved": {"reopen": _reopened},
    "dismissed": {"reopen": _reopened},
}


def allowed_actions(status: str) -> tuple[Action, ...]:
    """The actions that are valid in ``status``, in :data:`ACTIONS` order."""
    targets = TRANSITIONS.get(status, {})  # type: ignore[call-overload]
    return tuple(action for action in ACTIONS if action in targets)


def next_status(
    status: str,
    action: str,
    *,
    responded: bool = False,
    owned: bool = False,
    complaint_id: int | None = None,
) -> Status:
    """The status after ``action`` in ``status``; InvalidTransition when not allowed.

    ``responded``: a response was recorded before (where ``resume`` returns to);
    ``owned``: the complaint has an owner (where ``reopen`` goes).
    """
    targets = TRANSITIONS.get(status, {})  # type: ignore[call-overload]
    target = targets.get(action)
    if target is None:
        raise InvalidTransition(status, action, complaint_id, allowed_actions(status))
    if callable(target):
        return target(responded, owned)
    return target


# ---------------------------------------------------------------- clocks


def met(done_at: datetime, due_at: datetime) -> bool:
    """A deadline is hit when the action happened at or before it."""
    return done_at <= due_at


def paused_for(paused_at: datetime | None, now: datetime) -> timedelta:
    """How long the current pause has lasted at ``now`` (zero when not paused)."""
    if paused_at is None or now <= paused_at:
        return timedelta(0)
    return now - paused_at


def effective_resolution_due(
    resolution_due_at: datetime, paused_at: datetime | None, now: datetime
) -> datetime:
    """The resolution deadline at ``now``: the stored one (already moved by earlier
    pauses) plus the pause still running, so waiting on the customer never eats into it."""
    return resolution_due_at + paused_for(paused_at, now)


def time_left(due_at: datetime, now: datetime) -> timedelta:
    """Time until ``due_at`` (negative when overdue)."""
    return due_at - now


def duration(span: timedelta) -> str:
    """``"1h5m"``: a span as :func:`alerts.config.format_duration` writes it (never negative)."""
    return format_duration(timedelta(seconds=max(int(span.total_seconds()), 0)))


def verdict(done_at: datetime, due_at: datetime) -> str:
    """``"in time"`` or ``"12m late"``."""
    if met(done_at, due_at):
        return "in time"
    return f"{duration(done_at - due_at)} late"


def clock(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


# ---------------------------------------------------------------- where each deadline stands


class DeadlineClock(Protocol):
    """What :func:`deadline_states` reads: a :class:`~storage.models.Complaint` has it."""

    status: str
    ack_due_at: datetime
    response_due_at: datetime
    resolution_due_at: datetime
    claimed_at: datetime | None
    responded_at: datetime | None
    resolved_at: datetime | None
    paused_at: datetime | None
    ack_met: bool | None
    response_met: bool | None
    resolution_met: bool | None


@dataclass(frozen=True)
class DeadlineState:
    """One deadline at ``now``: hit or missed once decided, else the time left (negative
    when overdue); ``paused`` while the resolution clock waits on the customer."""

    name: Literal["acknowledge", "response", "resolution"]
    due_at: datetime
    met: bool | None
    done_at: datetime | None
    left: timedelta | None
    paused: bool = False
    closed: bool = False


def deadline_states(complaint: DeadlineClock, now: datetime) -> tuple[DeadlineState, ...]:
    """Acknowledge, response and resolution deadlines of ``complaint`` at ``now``.

    A dismissed complaint leaves its undecided deadlines ``closed`` (no verdict, no
    countdown); a paused resolution deadline shows the time left when work resumes.
    """
    closed = complaint.status in CLOSED
    rows: list[DeadlineState] = []
    resolution_due = effective_resolution_due(complaint.resolution_due_at, complaint.paused_at, now)
    for name, due, met_value, done in (
        ("acknowledge", complaint.ack_due_at, complaint.ack_met, complaint.claimed_at),
        ("response", complaint.response_due_at, complaint.response_met, complaint.responded_at),
        ("resolution", resolution_due, complaint.resolution_met, complaint.resolved_at),
    ):
        decided = met_value is not None
        rows.append(
            DeadlineState(
                name=name,  # type: ignore[arg-type]
                due_at=due,
                met=met_value,
                done_at=done,
                left=None if decided or closed else time_left(due, now),
                paused=name == "resolution" and complaint.paused_at is not None,
                closed=closed and not decided,
            )
        )
    return tuple(rows)
