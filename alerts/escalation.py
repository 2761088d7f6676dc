"""Escalation rules: which notifications a complaint is due at a moment.

Modelled on GoAlert's escalation policies: the policy is data (``alerts.config.
EscalationPolicy``) and the next step is a pure function of (policy, complaint, chain,
now). Nothing here reads a clock, the database or Slack. Every action carries a
deterministic idempotency key, so the caller can run the same minute twice, or again after
a crash, and write each action once (the key is the outbox's unique ``notifications.key``).

The rules, for a complaint that is neither resolved nor dismissed:

* **Steps, while unclaimed** (status ``open``). Step 1 starts when the complaint opened (or
  was last reopened); each step notifies its roles and waits its ``wait`` for a claim before
  the next; after the last step's wait the policy starts again, ``repeat`` more times, then
  stays quiet. Only the step current at ``now`` is due (after an outage the pass catches up
  with the current step, not every missed one). The opening alert already names the
  on-duty primary, so the very first step notifies only its other roles. A role nobody
  fills falls through to the next one up the chain (primary -> secondary -> lead). Claiming
  stops the steps.
* **Reminders before a deadline**: ``remind_before`` (e.g. 10 min) before the response and
  the resolution deadline, the owner (the primary while unclaimed) is reminded once per
  window; of several windows reached at once only the nearest the deadline is sent.
* **A missed deadline** (acknowledge while unclaimed, response while not responded,
  resolution while not resolved; the resolution clock stands still while waiting on the
  customer, and resuming moves the deadline by the pause) notifies ``deadline_missed_notify`` and
  is recorded once per deadline as ``deadline_missed``. A deadline that fell before the
  complaint was reopened is not this episode's and is not reported again.
* **Reach growth on an owned complaint** (claimed, responded, waiting): when reach is
  ``reach_growth_factor`` times the reach last announced (the latest audit event that
  states a ``reach``: the opening, grouping's notices, this rule's own), the owner is
  notified again.
  Growth steps are counted from the reach at opening (step n: reach >= opening x factor^n),
  so each step has its own key and is sent once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from alerts.config import EscalationPolicy, format_duration
from alerts.escalation_chain import Recipient, Recipients

FINAL_STATUSES = frozenset({"resolved", "dismissed"})
OWNED_STATUSES = frozenset({"claimed", "responded", "waiting"})
DEADLINE_MET_COLUMN = {
    "acknowledge": "ack_met",
    "response": "response_met",
    "resolution": "resolution_met",
}
# Who stands in when a role is empty, nearest first.
_FALL_THROUGH = {
    "primary": ("primary", "secondary", "lead"),
    "secondary": ("secondary", "lead"),
    "lead": ("lead",),
}
_SENIORITY = {"owner": 0, "primary": 0, "secondary": 1, "lead": 2}


@dataclass(frozen=True)
class ComplaintView:
    """What the rules need to know of a complaint (built from the database row by
    ``alerts.escalation_pass``; tests build it directly).

    ``since`` starts the step clock (opening, or the last reopening; default
    ``opened_at``) and ``episode`` counts reopenings, so a reopened complaint escalates
    afresh under new keys. ``opened_reach`` is the reach announced when it opened and
    ``notified_reach`` the reach in the latest notification that stated one.
    """

    id: int
    status: str
    priority: str
    opened_at: datetime
    ack_due_at: datetime
    response_due_at: datetime
    resolution_due_at: datetime
    owner: Recipient | None = None
    responded_at: datetime | None = None
    paused_at: datetime | None = None
    reach: int = 0
    opened_reach: int | None = None
    notified_reach: int | None = None
    reach_growth_per_hour: float | None = None
    since: datetime | None = None
    episode: int = 0


@dataclass(frozen=True)
class Action:
    """One notification to write, with the audit event that goes with it."""

    key: str
    complaint_id: int
    event: str  # escalated | reminder | deadline_missed
    summary: str  # the line after "#<id>" in the thread
    recipients: tuple[Recipient, ...] = ()
    detail: Mapping[str, Any] = field(default_factory=dict)
    deadline: str | None = None  # the deadline this action records as missed

    @property
    def text(self) -> str:
        return f"#{self.complaint_id} {self.summary}"

    @property
    def mention(self) -> str | None:
        """Whom Slack pings: the most senior recipient that has a Slack id or channel."""
        ranked = sorted(self.recipients, key=lambda r: _SENIORITY.get(r.role, 0), reverse=True)
        for recipient in ranked:
            if recipient.mention:
                return recipient.mention
        return None


@dataclass(frozen=True)
class StepPosition:
    """Where the step clock stands: ``step`` and ``round`` count from 1; ``offset`` is when
    this step started, counted from the start of the escalation."""

    step: int
    round: int
    offset: timedelta


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r} for {name}: pass a timezone-aware datetime")
    return value.astimezone(UTC)


def current_step(policy: EscalationPolicy, started: datetime, now: datetime) -> StepPosition | None:
    """The step whose turn it is at ``now`` for an escalation that started at ``started``;
    None before it starts. After the last round it stays on the last step."""
    elapsed = _aware(now, "now") - _aware(started, "started")
    if elapsed < timedelta(0):
        return None
    cycle = sum((step.wait for step in policy.steps), timedelta(0))
    round_index = min(elapsed // cycle, policy.repeat)
    into_round = elapsed - cycle * round_index
    start = timedelta(0)
    chosen = 0
    for index, step in enumerate(policy.steps):
        if start <= into_round:
            chosen = index
        start += step.wait
    offset = cycle * round_index + sum((step.wait for step in policy.steps[:chosen]), timedelta(0))
    return StepPosition(step=chosen + 1, round=round_index + 1, offset=offset)


def _resolve(role: str, chain: Recipients) -> Recipient | None:
    for candidate in _FALL_THROUGH[role]:
        found: Recipient | None = getattr(chain, candidate)
        if found is not None:
            return found
    return None


def _unique(found: list[Recipient | None]) -> tuple[Recipient, ...]:
    seen: set[str] = set()
    kept: list[Recipient] = []
    for recipient in found:
        if recipient is not None and recipient.name not in seen:
            seen.add(recipient.name)
            kept.append(recipient)
    return tuple(kept)


def _suffix(complaint: ComplaintView) -> str:
    return f":reopen{complaint.episode}" if complaint.episode else ""


def _names(recipients: tuple[Recipient, ...]) -> str:
    """``ana, ben (secondary), #pr-leads (lead)``: the owner and primary need no label."""
    labelled = []
    for recipient in recipients:
        plain = recipient.role in ("owner", "primary")
        labelled.append(recipient.name if plain else f"{recipient.name} ({recipient.role})")
    return ", ".join(labelled)


def _minutes(value: timedelta) -> str:
    return format_duration(value) if value else "0m"


def _clock(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _who(recipients: tuple[Recipient, ...]) -> list[dict[str, str | None]]:
    return [{"role": r.role, "name": r.name, "mention": r.mention} for r in recipients]


def _step_action(
    policy: EscalationPolicy, complaint: ComplaintView, chain: Recipients, now: datetime
) -> Action | None:
    started = complaint.since or complaint.opened_at
    position = current_step(policy, started, now)
    if position is None:
        return None
    step = policy.steps[position.step - 1]
    found = _unique([_resolve(role, chain) for role in step.notify])
    first = position.step == 1 and position.round == 1
    if first:  # the opening alert already named the on-duty primary
        found = tuple(recipient for recipient in found if recipient.role != "primary")
        if not found:
            return None
    waited = _minutes(position.offset)
    reminding = [r for r in found if r.role == "primary"]
    escalating = tuple(r for r in found if r.role != "primary")
    parts = []
    if reminding:
        parts.append(f"reminding {_names(tuple(reminding))}")
    if escalating:
        parts.append(f"escalating to {_names(escalating)}")
    if not found:
        parts.append("nobody to escalate to: set [rota] lead and a secondary")
    summary = f"{complaint.priority} unclaimed for {waited}: " + "; ".join(parts)
    return Action(
        key=f"complaint:{complaint.id}:escalation:{position.step}:{position.round}"
        + _suffix(complaint),
        complaint_id=complaint.id,
        event="escalated" if escalating or not found else "reminder",
        summary=summary,
        recipients=found,
        detail={
            "reason": "unclaimed",
            "step": position.step,
            "round": position.round,
            "steps": len(policy.steps),
            "rounds": policy.repeat + 1,
            "unclaimed_for": waited,
            "notified": _who(found),
        },
    )


def resolution_due(complaint: ComplaintView) -> datetime | None:
    """The resolution deadline; None while its clock is paused (waiting on the customer).
    Earlier pauses are already in ``resolution_due_at``: ``alerts.lifecycle.resume``
    moves it by each pause."""
    if complaint.paused_at is not None:
        return None
    return complaint.resolution_due_at


def _owner_or_primary(complaint: ComplaintView, chain: Recipients) -> tuple[Recipient, ...]:
    if complaint.owner is not None:
        return (complaint.owner,)
    return _unique([_resolve("primary", chain)])


def _reminder(
    policy: EscalationPolicy,
    complaint: ComplaintView,
    chain: Recipients,
    deadline: str,
    due: datetime,
    now: datetime,
) -> Action | None:
    windows = [before for before in policy.remind_before if due - before <= now < due]
    if not windows:
        return None
    before = min(windows)
    found = _owner_or_primary(complaint, chain)
    who = _names(found) or "nobody on duty"
    return Action(
        key=f"complaint:{complaint.id}:reminder:{deadline}:{format_duration(before)}"
        + _suffix(complaint),
        complaint_id=complaint.id,
        event="reminder",
        summary=(
            f"{complaint.priority} {deadline} due in {format_duration(before)} "
            f"({_clock(due)}): reminder for {who}"
        ),
        recipients=found,
        detail={
            "reason": "deadline_near",
            "deadline": deadline,
            "due_at": due.isoformat(),
            "before": format_duration(before),
            "notified": _who(found),
        },
    )


def _notify(roles: list[str], complaint: ComplaintView, chain: Recipients) -> tuple[Recipient, ...]:
    """The recipients of ``roles``: "owner" is the complaint's (the primary while
    unclaimed); the others fall through the chain."""
    found: list[Recipient | None] = []
    for role in roles:
        if role == "owner":
            found.extend(_owner_or_primary(complaint, chain) or [None])
        else:
            found.append(_resolve(role, chain))
    return _unique(found)


def _missed(
    policy: EscalationPolicy,
    complaint: ComplaintView,
    chain: Recipients,
    deadline: str,
    due: datetime,
) -> Action:
    recipients = _notify(list(policy.deadline_missed_notify), complaint, chain)
    owner = complaint.owner.name if complaint.owner else "nobody"
    who = (
        f"escalated to {_names(recipients)}"
        if recipients
        else "nobody to notify: set [rota] lead and a secondary"
    )
    return Action(
        key=f"complaint:{complaint.id}:deadline_missed:{deadline}" + _suffix(complaint),
        complaint_id=complaint.id,
        event="deadline_missed",
        summary=(
            f"{complaint.priority} missed its {deadline} deadline ({_clock(due)}; "
            f"owner {owner}): {who}"
        ),
        recipients=recipients,
        detail={
            "deadline": deadline,
            "due_at": due.isoformat(),
            "owner": complaint.owner.name if complaint.owner else None,
            "notified": _who(recipients),
        },
        deadline=deadline,
    )


def _deadline_actions(
    policy: EscalationPolicy, complaint: ComplaintView, chain: Recipients, now: datetime
) -> list[Action]:
    pending: list[tuple[str, datetime]] = []
    if complaint.status == "open":
        pending.append(("acknowledge", complaint.ack_due_at))
    if complaint.responded_at is None and complaint.status in ("open", "claimed"):
        pending.append(("response", complaint.response_due_at))
    due_resolution = resolution_due(complaint)
    if due_resolution is not None:
        pending.append(("resolution", due_resolution))
    started = complaint.since or complaint.opened_at
    actions: list[Action] = []
    for deadline, due in pending:
        due = _aware(due, deadline)
        if due < started:
            continue  # it fell before the complaint was reopened: not this episode's
        if now >= due:
            actions.append(_missed(policy, complaint, chain, deadline, due))
        elif deadline != "acknowledge":  # unclaimed complaints have the steps instead
            reminder = _reminder(policy, complaint, chain, deadline, due, now)
            if reminder is not None:
                actions.append(reminder)
    return actions


def growth_step(reach: int, base: int, factor: float) -> int:
    """n such that base x factor^n <= reach < base x factor^(n+1) (0 below base x factor)."""
    if base <= 0 or reach < base * factor:
        return 0
    step = 0
    while base * factor ** (step + 1) <= reach:
        step += 1
    return step


def _reach_action(
    policy: EscalationPolicy, complaint: ComplaintView, chain: Recipients
) -> Action | None:
    base = complaint.opened_reach or complaint.notified_reach
    if not base:
        return None
    last = max(complaint.notified_reach or base, base)
    factor = policy.reach_growth_factor
    if complaint.reach < last * factor:
        return None
    step = growth_step(complaint.reach, base, factor)
    found = _notify(list(policy.reach_growth_notify), complaint, chain)
    rate = complaint.reach_growth_per_hour
    pace = f", +{rate:,.0f}/h" if rate else ""
    who = _names(found) or "nobody on duty"
    return Action(
        key=f"complaint:{complaint.id}:escalation:reach:{step}" + _suffix(complaint),
        complaint_id=complaint.id,
        event="escalated",
        summary=(
            f"{complaint.priority} reach keeps growing: ~{complaint.reach:,} people, "
            f"{complaint.reach / last:.1f}x the ~{last:,} last announced{pace}: {who}"
        ),
        recipients=found,
        detail={
            "reason": "reach_grew",
            "growth_step": step,
            "reach": complaint.reach,
            "previous_reach": last,
            "opened_reach": base,
            "reach_growth_per_hour": rate,
            "notified": _who(found),
        },
    )


def due_actions(
    policy: EscalationPolicy, complaint: ComplaintView, chain: Recipients, now: datetime
) -> list[Action]:
    """Every action due for ``complaint`` at ``now``, in a fixed order (step, deadlines,
    reach). The caller writes each one whose key is new and skips the others."""
    now = _aware(now, "now")
    if complaint.status in FINAL_STATUSES:
        return []
    actions: list[Action] = []
    if complaint.status == "open":
        step = _step_action(policy, complaint, chain, now)
        if step is not None:
            actions.append(step)
    actions.extend(_deadline_actions(policy, complaint, chain, now))
    if complaint.status in OWNED_STATUSES:
        grown = _reach_action(policy, complaint, chain)
        if grown is not None:
            actions.append(grown)
    return actions
