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
from datetime import datetime, timedelta
from typing import Literal

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
