"""Overrides and swaps made at run time (from the CLI), stored with who made them.

The effective rota is the configured one plus the stored changes: :func:`load_rota`.
Checks that need the rota (is the covered responder on shift then? which shift is
swapped?) run against the effective rota when the change is made, so a stored swap names
the two exact shifts it exchanges. The caller passes ``now`` and commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from alerts.config import Override, RotaSettings, ShiftRef, Swap
from alerts.rota import is_rota_member, shift_of, shifts_between
from alerts.rota_time import require_aware
from storage.models import RotaChange

OVERRIDE = "override"
SWAP = "swap"


class RotaChangeError(ValueError):
    """A rota change cannot be made or removed; the message says why and what to do."""


class RotaChangeNotFound(RotaChangeError):
    """No rota change has the given id."""


def _names(change: RotaChange) -> list[str]:
    return [name for name in (change.responder, change.covering) if name is not None]


def applies_to(settings: RotaSettings, change: RotaChange) -> bool:
    """Whether every responder the change names is still on the configured rota."""
    return all(is_rota_member(settings, name) for name in _names(change))


def _as_settings(change: RotaChange) -> Override | Swap:
    if change.kind == SWAP:
        assert change.responder and change.other_starts_at and change.other_ends_at
        return Swap(
            first=ShiftRef(responder=change.responder, start=change.starts_at, end=change.ends_at),
            second=ShiftRef(
                responder=change.covering, start=change.other_starts_at, end=change.other_ends_at
            ),
            change_id=change.id,
        )
    return Override(
        covering=change.covering,
        responder=change.responder,
        start=change.starts_at,
        end=change.ends_at,
        change_id=change.id,
    )


def rota_with_changes(settings: RotaSettings, changes: Iterable[RotaChange]) -> RotaSettings:
    """``settings`` plus ``changes`` (oldest first, after the configured ones). A change
    naming a responder no longer on the rota cannot apply and is left out."""
    overrides, swaps = list(settings.overrides), list(settings.swaps)
    for change in sorted(changes, key=lambda c: c.id):
        if not applies_to(settings, change):
            continue
        item = _as_settings(change)
        if isinstance(item, Swap):
            swaps.append(item)
        else:
            overrides.append(item)
    return settings.model_copy(update={"overrides": overrides, "swaps": swaps})


def active_changes(session: Session, since: datetime | None = None) -> list[RotaChange]:
    """Changes not removed, oldest first; with ``since``, only those ending after it."""
    query = select(RotaChange).where(RotaChange.removed_at.is_(None))
    if since is not None:
        since = require_aware(since, "since")
        query = query.where(
            or_(
                RotaChange.ends_at > since,
                RotaChange.other_ends_at > since,
            )
        )
    return list(session.scalars(query.order_by(RotaChange.id)))


def load_rota(
    session: Session, settings: RotaSettings, since: datetime | None = None
) -> RotaSettings:
    """The effective rota: the configured one plus the stored changes (those ending after
    ``since`` when given, which is all that matters for questions about ``since`` on)."""
    return rota_with_changes(settings, active_changes(session, since))


def _require_member(settings: RotaSettings, name: str, role: str) -> None:
    if not is_rota_member(settings, name):
        known = ", ".join(r.name for r in settings.responders) or "none"
        raise RotaChangeError(f"{role} {name!r} is not on the rota; responders: {known}")


def _require_actor(actor: str) -> str:
    if not actor.strip():
        raise RotaChangeError("say who makes the change (--as NAME)")
    return actor.strip()


def add_override(
    session: Session,
    settings: RotaSettings,
    *,
    covering: str,
    responder: str | None,
    start: datetime,
    end: datetime,
    actor: str,
    now: datetime,
    note: str | None = None,
) -> RotaChange:
    """Store "``covering`` covers ``responder`` (None: whoever is on shift) from ``start``
    to ``end``". Refused when ``responder`` has no shift in that time: nothing to cover."""
    actor = _require_actor(actor)
    _require_member(settings, covering, "covering responder")
    if responder is not None:
        _require_member(settings, responder, "responder")
    try:
        Override(covering=covering, responder=responder, start=start, end=end)
    except ValidationError as exc:
        raise RotaChangeError(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None
    if responder is not None:
        effective = load_rota(session, settings, since=start)
        if not any(s.responder == responder for s in shifts_between(effective, start, end)):
            raise RotaChangeError(
                f"{responder} has no shift between {start.isoformat()} and {end.isoformat()}; "
                "nothing to cover (see uproar rota show)"
            )
    change = RotaChange(
        kind=OVERRIDE,
        responder=responder,
        covering=covering,
        starts_at=require_aware(start, "start"),
        ends_at=require_aware(end, "end"),
        note=note,
        created_by=actor,
        created_at=require_aware(now, "now"),
    )
    session.add(change)
    session.flush()
    return change


def add_swap(
    session: Session,
    settings: RotaSettings,
    *,
    responder: str,
    at: datetime,
    other: str,
    other_at: datetime,
    actor: str,
    now: datetime,
    note: str | None = None,
) -> RotaChange:
    """Store a swap of ``responder``'s shift holding ``at`` with ``other``'s shift holding
    ``other_at``. The shifts are looked up in the effective rota before overrides (swaps
    exchange planned shifts; overrides then apply on top)."""
    actor = _require_actor(actor)
    _require_member(settings, responder, "responder")
    _require_member(settings, other, "other responder")
    effective = load_rota(session, settings, since=min(at, other_at))
    planned = effective.model_copy(update={"overrides": []})
    mine = shift_of(planned, responder, at)
    theirs = shift_of(planned, other, other_at)
    for name, when, found in ((responder, at, mine), (other, other_at, theirs)):
        if found is None:
            raise RotaChangeError(
                f"{name} has no shift at {when.isoformat()}; pick a time inside one of "
                "their shifts (see uproar rota show)"
            )
    assert mine is not None and theirs is not None
    try:
        Swap(
            first=ShiftRef(responder=responder, start=mine.start, end=mine.end),
            second=ShiftRef(responder=other, start=theirs.start, end=theirs.end),
        )
    except ValidationError as exc:
        raise RotaChangeError(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None
    change = RotaChange(
        kind=SWAP,
        responder=responder,
        covering=other,
        starts_at=mine.start,
        ends_at=mine.end,
        other_starts_at=theirs.start,
        other_ends_at=theirs.end,
        note=note,
        created_by=actor,
        created_at=require_aware(now, "now"),
    )
    session.add(change)
    session.flush()
    return change


def list_changes(session: Session, include_removed: bool = False) -> list[RotaChange]:
    """Stored changes, oldest first; removed ones too when asked."""
    query = select(RotaChange).order_by(RotaChange.id)
    if not include_removed:
        query = query.where(RotaChange.removed_at.is_(None))
    return list(session.scalars(query))


def remove_change(session: Session, change_id: int, actor: str, now: datetime) -> RotaChange:
    """Mark a change removed by ``actor``; the row stays as history."""
    actor = _require_actor(actor)
    change = session.get(RotaChange, change_id)
    if change is None:
        raise RotaChangeNotFound(f"no rota change #{change_id} (see uproar rota changes)")
    if change.removed_at is not None:
        raise RotaChangeError(
            f"rota change #{change_id} was already removed by {change.removed_by} "
            f"at {change.removed_at.isoformat()}"
        )
    change.removed_by = actor
    change.removed_at = require_aware(now, "now")
    session.flush()
    return change


def describe(change: RotaChange) -> str:
    """One plain line saying what the change does."""
    if change.kind == SWAP:
        return (
            f"{change.responder} and {change.covering} swap shifts: {change.covering} takes "
            f"{change.responder}'s, {change.responder} takes {change.covering}'s"
        )
    if change.responder is None:
        return f"{change.covering} is on duty (covering whoever is on shift)"
    return f"{change.covering} covers {change.responder}"
