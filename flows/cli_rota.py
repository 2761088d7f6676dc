"""``uproar rota``: who is on duty, the shifts ahead, gaps, and overrides and swaps.

Each command parses its arguments and calls alerts.rota / alerts.rota_changes. The
effective rota is the config file's plus the changes stored in the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from sqlalchemy.orm import Session

from alerts.config import RotaSettings
from alerts.rota import escalation_chain_at, shifts_between, uncovered_hours
from alerts.rota_changes import (
    RotaChangeError,
    add_override,
    add_swap,
    applies_to,
    describe,
    list_changes,
    load_rota,
    remove_change,
)
from alerts.rota_time import local_instant, wall_clock
from flows.cli_common import (
    ConfigOption,
    console,
    fail as _fail,
    load_or_exit as _load,
    utc_now as _now,
)
from flows.config import UproarConfig
from flows.rota_view import (
    chain_lines,
    changes_table,
    clock,
    parse_when,
    shifts_table,
    uncovered_line,
    viewer_zone,
    zone_name,
)
from storage.db import DatabaseError, database, session_scope

rota_app = typer.Typer(
    help="The response rota: who is on duty, shifts ahead, gaps, overrides and swaps.",
    no_args_is_help=True,
)


ZoneOption = Annotated[
    str | None,
    typer.Option("--tz", help="show and read times in this zone (default: $TZ or the system's)"),
]
ActorOption = Annotated[str, typer.Option("--as", help="who makes the change (recorded)")]
NoteOption = Annotated[str | None, typer.Option(help="why, for the record")]


def _zone(name: str | None) -> ZoneInfo:
    try:
        return viewer_zone(name)
    except ValueError as exc:
        raise _fail(f"--tz: {exc}") from None


def _when(option: str, text: str | None, zone: ZoneInfo, now: datetime) -> datetime:
    if text is None:
        return now
    try:
        return parse_when(text, zone, now)
    except ValueError as exc:
        raise _fail(f"{option}: {exc}") from None


@contextmanager
def _session(loaded: UproarConfig) -> Iterator[Session]:
    try:
        with database(loaded.database.url) as factory, session_scope(factory) as session:
            yield session
    except DatabaseError as exc:
        raise _fail(str(exc)) from None


def _effective(loaded: UproarConfig, since: datetime) -> RotaSettings:
    with _session(loaded) as session:
        return load_rota(session, loaded.rota, since=since)


@rota_app.command("now")
def rota_now(
    config: ConfigOption = None,
    at: Annotated[str | None, typer.Option(help="another moment instead of now")] = None,
    tz: ZoneOption = None,
) -> None:
    """Who is primary, secondary and lead now."""
    loaded, zone = _load(config), _zone(tz)
    when = _when("--at", at, zone, _now())
    rota = _effective(loaded, when)
    chain = escalation_chain_at(rota, when)
    current = next((s for s in shifts_between(rota, when, when + timedelta(microseconds=1))), None)
    console.print(f"On duty at {clock(when, zone)} {zone_name(zone)}:", highlight=False)
    for line in chain_lines(chain, current, zone):
        console.print(f"  {escape(line)}", highlight=False)


@rota_app.command("show")
def rota_show(
    config: ConfigOption = None,
    days: Annotated[int, typer.Option(min=1, max=366, help="how many days ahead")] = 7,
    start: Annotated[str | None, typer.Option("--from", help="start here instead of now")] = None,
    tz: ZoneOption = None,
) -> None:
    """The resolved shifts ahead (after layers, swaps and overrides) as a table."""
    loaded, zone = _load(config), _zone(tz)
    begins = _when("--from", start, zone, _now())
    ends = local_instant(wall_clock(begins, zone) + timedelta(days=days), zone)
    rota = _effective(loaded, begins)
    shifts = shifts_between(rota, begins, ends)
    title = (
        f"Shifts {clock(begins, zone)} to {clock(ends, zone)} "
        f"({zone_name(zone)}; fallback: {rota.fallback or 'none'})"
    )
    if not shifts:
        console.print(f"No shifts in the {days} days from {clock(begins, zone)}.")
        return
    console.print(shifts_table(shifts, zone, title))


@rota_app.command("check")
def rota_check(
    config: ConfigOption = None,
    days: Annotated[int, typer.Option(min=1, max=366, help="how many days ahead")] = 28,
    start: Annotated[
        str | None, typer.Option("--from", help="start here instead of this hour")
    ] = None,
    tz: ZoneOption = None,
) -> None:
    """Exit 1 and name every hour no shift covers (the fallback does not count)."""
    loaded, zone = _load(config), _zone(tz)
    if start is None:
        local = _now().astimezone(zone).replace(minute=0, second=0, microsecond=0)
        begins = local.astimezone(UTC)
    else:
        begins = _when("--from", start, zone, _now())
    rota = _effective(loaded, begins)
    gaps = uncovered_hours(rota, begins, days)
    for hour in gaps:
        console.print(uncovered_line(hour, zone), highlight=False)
    if gaps:
        console.print(
            f"{len(gaps)} uncovered hours in the {days} days from {clock(begins, zone)} "
            f"{zone_name(zone)}",
            highlight=False,
        )
        raise typer.Exit(1)
    console.print(
        f"No uncovered hours in the {days} days from {clock(begins, zone)} {zone_name(zone)}.",
        highlight=False,
    )


@rota_app.command("override")
def rota_override(
    covering: Annotated[str, typer.Option(help="who is on duty instead")],
    start: Annotated[str, typer.Option("--from", help="from when, e.g. 2026-12-24 09:00")],
    end: Annotated[str, typer.Option("--to", help="until when")],
    actor: ActorOption,
    responder: Annotated[
        str | None, typer.Option(help="whose shifts are covered (default: whoever is on shift)")
    ] = None,
    note: NoteOption = None,
    config: ConfigOption = None,
    tz: ZoneOption = None,
) -> None:
    """Someone covers another responder's shifts (or all shifts) for a period."""
    loaded, zone = _load(config), _zone(tz)
    now = _now()
    begins, ends = _when("--from", start, zone, now), _when("--to", end, zone, now)
    with _session(loaded) as session:
        try:
            change = add_override(
                session, loaded.rota, covering=covering, responder=responder,
                start=begins, end=ends, actor=actor, now=now, note=note,
            )  # fmt: skip
        except RotaChangeError as exc:
            raise _fail(str(exc)) from None
        text = describe(change)
        change_id = change.id
    console.print(
        f"Rota change #{change_id}: {escape(text)} from {clock(begins, zone)} to "
        f"{clock(ends, zone)} {zone_name(zone)} (by {escape(actor)}).",
        highlight=False,
    )


@rota_app.command("swap")
def rota_swap(
    responder: Annotated[str, typer.Option(help="one responder")],
    at: Annotated[str, typer.Option(help="a moment inside their shift to give away")],
    other: Annotated[str, typer.Option("--with", help="the other responder")],
    other_at: Annotated[str, typer.Option("--with-at", help="a moment inside the other's shift")],
    actor: ActorOption,
    note: NoteOption = None,
    config: ConfigOption = None,
    tz: ZoneOption = None,
) -> None:
    """Two responders exchange two shifts."""
    loaded, zone = _load(config), _zone(tz)
    now = _now()
    mine, theirs = _when("--at", at, zone, now), _when("--with-at", other_at, zone, now)
    with _session(loaded) as session:
        try:
            change = add_swap(
                session, loaded.rota, responder=responder, at=mine, other=other,
                other_at=theirs, actor=actor, now=now, note=note,
            )  # fmt: skip
        except RotaChangeError as exc:
            raise _fail(str(exc)) from None
        assert change.other_starts_at is not None and change.other_ends_at is not None
        lines = [
            f"Rota change #{change.id}: {describe(change)} (by {actor})",
            f"  {change.covering} takes {clock(change.starts_at, zone)} – "
            f"{clock(change.ends_at, zone)}",
            f"  {change.responder} takes {clock(change.other_starts_at, zone)} – "
            f"{clock(change.other_ends_at, zone)} ({zone_name(zone)})",
        ]
    for line in lines:
        console.print(escape(line), highlight=False)


@rota_app.command("changes")
def rota_changes(
    config: ConfigOption = None,
    include_removed: Annotated[bool, typer.Option("--all", help="removed ones too")] = False,
    tz: ZoneOption = None,
) -> None:
    """The stored overrides and swaps, with who made them."""
    loaded, zone = _load(config), _zone(tz)
    with _session(loaded) as session:
        changes = list_changes(session, include_removed=include_removed)
        texts = [
            describe(c)
            + ("" if applies_to(loaded.rota, c) else " (not applied: unknown responder)")
            for c in changes
        ]
        if not changes:
            console.print("No rota changes.")
            return
        console.print(changes_table(changes, zone, texts))


@rota_app.command("remove")
def rota_remove(
    change_id: Annotated[int, typer.Argument(help="the change's id (see uproar rota changes)")],
    actor: ActorOption,
    config: ConfigOption = None,
) -> None:
    """Remove an override or swap (kept in the history as removed)."""
    loaded = _load(config)
    with _session(loaded) as session:
        try:
            change = remove_change(session, change_id, actor, _now())
        except RotaChangeError as exc:
            raise _fail(str(exc)) from None
        text = describe(change)
    console.print(f"Removed rota change #{change_id}: {escape(text)}.", highlight=False)
