"""``uproar complaints``: look at complaints and act on them without Slack.

Each action command names who acts (``--as NAME``, a responder on the rota) and calls the
same :mod:`alerts.lifecycle` function as Slack's buttons, so the audit trail, the deadline
verdicts and the Slack thread are the same whichever way someone acted. Wrong transitions,
someone else's claim and a lost race for a claim exit 2 with a message saying what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from flows.cli_common import (
    ConfigOption,
    console,
    fail as _fail,
    load_or_exit as _load,
    utc_now as _now,
)
from flows.config import UproarConfig

complaints_app = typer.Typer(
    help="Look at complaints and act on them: claim, respond, wait, resume, resolve, dismiss.",
    no_args_is_help=True,
)


STATUSES = ("open", "claimed", "responded", "waiting", "resolved", "dismissed")
PRIORITIES = ("P1", "P2", "P3")
EXCERPT_CHARS = 280

ComplaintId = Annotated[int, typer.Argument(help="the complaint's number (see `complaints list`)")]
Actor = Annotated[
    str, typer.Option("--as", help="who acts: a responder on the rota in uproar.toml")
]


def _check_responder(loaded: UproarConfig, name: str) -> None:
    names = [responder.name for responder in loaded.rota.responders]
    if name not in names:
        known = ", ".join(names) or "none (add [[rota.responders]] to uproar.toml)"
        raise _fail(f"--as {name!r} is not a responder on the rota; responders: {known}")


def _choice(value: str | None, allowed: tuple[str, ...], option: str) -> str | None:
    if value is not None and value not in allowed:
        raise _fail(f"{option} {value!r} is not one of: {', '.join(allowed)}")
    return value


# ---------------------------------------------------------------- looking


@complaints_app.command("list")
def complaints_list(
    config: ConfigOption = None,
    status: Annotated[
        str | None, typer.Option(help="only this status: " + ", ".join(STATUSES))
    ] = None,
    priority: Annotated[str | None, typer.Option(help="only this priority: P1, P2 or P3")] = None,
) -> None:
    """List complaints, newest first."""
    loaded = _load(config)
    _choice(status, STATUSES, "--status")
    _choice(priority, PRIORITIES, "--priority")
    from alerts.complaints import list_complaints
    from flows.summary import complaints_table
    from storage.db import DatabaseError, database, session_scope
    from storage.privacy import mask_personal_data

    try:
        with database(loaded.database.url) as factory, session_scope(factory) as session:
            rows = [
                {
                    "id": str(c.id),
                    "status": c.status,
                    "prio": c.priority,
                    "reach": f"{c.reach:,}",
                    "owner": c.owner or f"({c.on_duty or 'nobody'} on duty)",
                    "ack due (UTC)": c.ack_due_at.strftime("%m-%d %H:%M"),
                    "post": mask_personal_data(c.post.text)[:70],
                }
                for c in list_complaints(session, status=status, priority=priority)
            ]
    except DatabaseError as exc:
        raise _fail(str(exc)) from None
    if not rows:
        wanted = " and ".join(
            part
            for part in (
                f"status {status}" if status else "",
                f"priority {priority}" if priority else "",
            )
            if part
        )
        console.print("No complaints" + (f" with {wanted}." if wanted else "."))
        return
    console.print(complaints_table(rows, title=f"{len(rows)} complaints", width=console.width))


@complaints_app.command("show")
def complaints_show(complaint_id: ComplaintId, config: ConfigOption = None) -> None:
    """One complaint: the post (personal data masked), state, owner, deadlines, audit trail."""
    loaded = _load(config)
    from alerts.complaints import get_complaint
    from alerts.errors import ComplaintError
    from storage.db import DatabaseError, database, session_scope

    try:
        with database(loaded.database.url) as factory, session_scope(factory) as session:
            lines = complaint_report(get_complaint(session, complaint_id), _now())
    except (ComplaintError, DatabaseError) as exc:
        raise _fail(str(exc)) from None
    for line in lines:
        console.print(line, highlight=False, markup=False)


def complaint_report(complaint: Any, now: datetime) -> list[str]:
    """The lines of ``complaints show``; every post-derived string masked."""
    from alerts.complaint_states import deadline_states
    from storage.privacy import mask_personal_data

    post = complaint.post
    followers = f"{post.author_followers:,}" if post.author_followers is not None else "unknown"
    owner = complaint.owner or "nobody"
    lines = [
        f"Complaint #{complaint.id} · {complaint.priority} · {complaint.status} · owner {owner}"
        f" · on duty when opened: {complaint.on_duty or 'nobody'}",
        f"Opened {_clock(complaint.opened_at)} · watch {complaint.watch or '-'} · "
        f"reach ~{complaint.reach:,} · negativity {complaint.negativity:.0%} · "
        f"category {complaint.category or '-'}"
        + (f" · repeat of #{complaint.repeat_of_id}" if complaint.repeat_of_id else ""),
        f"Post on {post.source} ({post.platform}) by "
        f"{mask_personal_data(post.author or 'unknown author')} ({followers} followers)",
    ]
    body = mask_personal_data(" ".join(filter(None, [post.title, post.text])))
    body = " ".join(body.split())
    if len(body) > EXCERPT_CHARS:
        body = body[: EXCERPT_CHARS - 1].rstrip() + "…"
    lines.append(f'  "{body}"')
    if post.url:
        lines.append(f"  {mask_personal_data(post.url)}")
    lines.append("Deadlines (UTC):")
    for state in deadline_states(complaint, now):
        lines.append(f"  {state.name:<12} {_clock(state.due_at)}  {_deadline_verdict(state)}")
    if complaint.paused_seconds:
        lines.append(
            f"  (waited on the customer {_span(timedelta(seconds=complaint.paused_seconds))})"
        )
    lines.append("Audit trail:")
    for event in complaint.events:
        detail = _detail(event.detail or {}, mask_personal_data)
        lines.append(
            f"  {_clock(event.at)}  {event.actor:<10} {event.action:<11} {detail}".rstrip()
        )
    return lines


def _deadline_verdict(state: Any) -> str:
    if state.met is True:
        return f"met ({_clock(state.done_at)})" if state.done_at else "met"
    if state.met is False:
        late = f", {_span(state.done_at - state.due_at)} late" if state.done_at else ""
        return f"MISSED{late}"
    if state.closed:
        return "no verdict (dismissed)"
    if state.paused:
        return f"paused, waiting on the customer ({_span(state.left)} left when resumed)"
    if state.left < timedelta(0):
        return f"OVERDUE by {_span(-state.left)}"
    return f"{_span(state.left)} left"


def _detail(detail: dict[str, Any], mask: Callable[[str], str]) -> str:
    shown = []
    for key, value in detail.items():
        if value is None or value == "":
            continue
        if isinstance(value, str) and key.endswith("_at"):
            text = _clock(_parse_time(value)) if _parse_time(value) else mask(value)
        elif isinstance(value, str):
            text = mask(" ".join(value.split()))
        else:
            text = str(value)
        shown.append(f"{key}={text}")
    return " ".join(shown)


def _parse_time(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _clock(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if moment else "-"


def _span(span: timedelta) -> str:
    from alerts.config import format_duration

    seconds = max(int(span.total_seconds()), 0)
    if seconds >= 3600:
        seconds -= seconds % 60  # minutes are precise enough past an hour
    return format_duration(timedelta(seconds=seconds))


# ---------------------------------------------------------------- acting


def _act(config: Path | None, actor: str, complaint_id: int, action: Callable[..., Any]) -> None:
    """Run one lifecycle action as ``actor`` in one transaction and say what happened."""
    loaded = _load(config)
    _check_responder(loaded, actor)
    from alerts.errors import ComplaintError
    from storage.db import DatabaseError, database, session_scope

    try:
        with database(loaded.database.url) as factory, session_scope(factory) as session:
            complaint = action(session, complaint_id, actor, _now())
            summary = f"#{complaint.id} is {complaint.status}, owner {complaint.owner or 'nobody'}"
    except ComplaintError as exc:
        raise _fail(str(exc)) from None
    except DatabaseError as exc:
        raise _fail(str(exc)) from None
    console.print(summary, highlight=False, markup=False)


@complaints_app.command("claim")
def complaints_claim(
    complaint_id: ComplaintId,
    actor: Actor,
    take_over: Annotated[
        bool, typer.Option("--take-over", help="take the complaint from its current owner")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Claim a complaint (you own it until resolved); --take-over replaces another owner."""
    from alerts.complaint_events import slack_id
    from alerts.lifecycle import claim

    rota = _load(config).rota

    def claim_it(session: Any, complaint_id: int, actor: str, now: datetime) -> Any:
        return claim(
            session,
            complaint_id,
            actor,
            now,
            take_over=take_over,
            slack_id_of=lambda name: slack_id(rota, name),
        )

    _act(config, actor, complaint_id, claim_it)


@complaints_app.command("respond")
def complaints_respond(
    complaint_id: ComplaintId,
    actor: Actor,
    note: Annotated[str | None, typer.Option(help="what you answered, for the trail")] = None,
    config: ConfigOption = None,
) -> None:
    """Record that you answered the customer (the first answer decides the response deadline)."""
    from alerts.lifecycle import respond

    _act(config, actor, complaint_id, lambda s, i, a, n: respond(s, i, a, n, note=note))


@complaints_app.command("wait")
def complaints_wait(complaint_id: ComplaintId, actor: Actor, config: ConfigOption = None) -> None:
    """Waiting on the customer: pause the resolution clock."""
    from alerts.lifecycle import wait_on_customer

    _act(config, actor, complaint_id, wait_on_customer)


@complaints_app.command("resume")
def complaints_resume(complaint_id: ComplaintId, actor: Actor, config: ConfigOption = None) -> None:
    """The customer answered: restart the resolution clock (its deadline moves by the wait)."""
    from alerts.lifecycle import resume

    _act(config, actor, complaint_id, resume)


@complaints_app.command("resolve")
def complaints_resolve(
    complaint_id: ComplaintId,
    actor: Actor,
    outcome: Annotated[str | None, typer.Option(help="how it was resolved")] = None,
    config: ConfigOption = None,
) -> None:
    """Resolve a complaint you own."""
    from alerts.lifecycle import resolve

    _act(config, actor, complaint_id, lambda s, i, a, n: resolve(s, i, a, n, outcome=outcome))


@complaints_app.command("dismiss")
def complaints_dismiss(
    complaint_id: ComplaintId,
    actor: Actor,
    reason: Annotated[str | None, typer.Option(help="why it is not an issue")] = None,
    config: ConfigOption = None,
) -> None:
    """Not an issue: close the complaint without a resolution."""
    from alerts.lifecycle import dismiss

    _act(config, actor, complaint_id, lambda s, i, a, n: dismiss(s, i, a, n, reason=reason))
