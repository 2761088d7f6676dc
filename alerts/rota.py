"""Who is on duty at a given instant, who comes next in the escalation chain, and where the
rota leaves gaps.

The rota is data (:class:`alerts.config.RotaSettings`); everything here is a pure function
of (rota, time), after GoAlert's schedule/shiftcalc. Planned duty comes in *pieces*: one
turn of a layer's rotation (cut to the layer's restriction windows) or one occurrence of
a fixed shift. Where pieces overlap, the first listed layer wins, then the first listed
shift. Swaps and then overrides replace the responder over their intervals. All maths is
on UTC instants; local times become instants by the one rule in :mod:`alerts.rota_time`.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from alerts.config import Layer, Responder, RotaSettings, Shift
from alerts.rota_time import days_covering, handoff, require_aware, turn_at, window_on

_INSTANT = timedelta(microseconds=1)


@dataclass(frozen=True)
class ResolvedShift:
    """A final stretch of duty of one responder, half-open UTC [start, end), after layers,
    swaps and overrides; ``source`` says what put them there (a layer, shift or change)."""

    responder: str
    start: datetime
    end: datetime
    source: str


@dataclass(frozen=True)
class EscalationChain:
    """Who is paged in turn: the primary, the secondary, then the lead (a responder name
    or a Slack channel)."""

    primary: Responder | None
    secondary: Responder | None
    lead: str | None


@dataclass(frozen=True)
class _Piece:
    rank: int  # lower wins
    key: Hashable
    responder: str
    start: datetime
    end: datetime
    source: str
    layer: Layer | None = None
    turn: int = 0


@dataclass(frozen=True)
class _Replacement:
    """From start to end, ``covering`` replaces ``responder`` (None: whoever, gaps too)."""

    key: Hashable
    responder: str | None
    covering: str
    start: datetime
    end: datetime
    source: str


def _merged(windows: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for begins, ends in sorted(windows):
        if merged and begins <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], ends))
        else:
            merged.append((begins, ends))
    return merged


def _layer_pieces(layer: Layer, rank: int, start: datetime, end: datetime) -> list[_Piece]:
    """The layer's duty overlapping [start, end): its turns, cut to its restrictions."""
    zone = ZoneInfo(layer.timezone)
    anchor, length = layer.anchor, layer.rotation
    begins = handoff(anchor, length, 0, zone)
    if end <= begins:
        return []
    turn = turn_at(anchor, length, max(start, begins), zone)
    turns: list[tuple[int, datetime, datetime]] = []
    while (turn_start := handoff(anchor, length, turn, zone)) < end:
        turn_end = handoff(anchor, length, turn + 1, zone)
        if turn_end > turn_start:
            turns.append((turn, turn_start, turn_end))
        turn += 1
    if not turns:
        return []
    if layer.restrictions:
        span_start, span_end = turns[0][1], turns[-1][2]
        windows = _merged(
            window
            for restriction in layer.restrictions
            for day in days_covering(span_start, span_end, zone)
            if day.weekday() in restriction.weekdays
            and (window := window_on(day, restriction.start, restriction.end, zone))
        )
    pieces: list[_Piece] = []
    names = layer.responders
    for turn, turn_start, turn_end in turns:
        parts = (
            [(turn_start, turn_end)]
            if not layer.restrictions
            else [(max(a, turn_start), min(b, turn_end)) for a, b in windows]
        )
        for part_start, part_end in parts:
            if part_start < part_end and part_start < end and part_end > start:
                pieces.append(
                    _Piece(
                        rank=rank,
                        key=("layer", layer.name, turn, part_start),
                        responder=names[turn % len(names)],
                        start=part_start,
                        end=part_end,
                        source=f"layer {layer.name}",
                        layer=layer,
                        turn=turn,
                    )
                )
    return pieces


def _shift_pieces(
    rota: RotaSettings, index: int, shift: Shift, rank: int, start: datetime, end: datetime
) -> list[_Piece]:
    zone = rota.timezone_of(shift)
    pieces = []
    for day in days_covering(start, end, zone):
        if day.weekday() not in shift.weekdays:
            continue
        window = window_on(day, shift.start, shift.end, zone)
        if window and window[0] < end and window[1] > start:
            pieces.append(
                _Piece(rank, ("shift", index, day), shift.responder, *window, f"shift {index + 1}")
            )
    return pieces


def _pieces(
    rota: RotaSettings, layers: Sequence[Layer], start: datetime, end: datetime, shifts: bool
) -> list[_Piece]:
    found: list[_Piece] = []
    for rank, layer in enumerate(layers):
        found.extend(_layer_pieces(layer, rank, start, end))
    if shifts:
        for index, shift in enumerate(rota.shifts):
            found.extend(_shift_pieces(rota, index, shift, len(layers) + index, start, end))
    return found


def _replacements(rota: RotaSettings) -> list[_Replacement]:
    """Swaps first (they re-assign planned shifts), then overrides in order (later wins)."""
    found: list[_Replacement] = []
    for index, swap in enumerate(rota.swaps):
        label = f"swap #{swap.change_id}" if swap.change_id else f"swap {index + 1}"
        for half, (given, taker) in enumerate(
            ((swap.first, swap.second), (swap.second, swap.first))
        ):
            found.append(
                _Replacement(
                    ("swap", index, half),
                    given.responder,
                    taker.responder,
                    require_aware(given.start, "swap start"),
                    require_aware(given.end, "swap end"),
                    label,
                )
            )
    for index, override in enumerate(rota.overrides):
        label = f"override #{override.change_id}" if override.change_id else f"override {index + 1}"
        found.append(
            _Replacement(
                ("override", index),
                override.responder,
                override.covering,
                require_aware(override.start, "override start"),
                require_aware(override.end, "override end"),
                label,
            )
        )
    return found


def _resolve(
    pieces: Iterable[_Piece], replacements: Iterable[_Replacement], at: datetime
) -> tuple[str | None, Hashable, str, _Piece | None]:
    """(responder, identity, source, winning planned piece) at instant ``at``."""
    base = min((p for p in pieces if p.start <= at < p.end), key=lambda p: p.rank, default=None)
    responder = base.responder if base else None
    key: Hashable = base.key if base else None
    source = base.source if base else ""
    for change in replacements:
        if change.start <= at < change.end and change.responder in (None, responder):
            responder, key, source = change.covering, change.key, change.source
    return responder, key, source, base


def _timeline(
    rota: RotaSettings, start: datetime, end: datetime, *, changes: bool = True
) -> list[ResolvedShift]:
    replacements = _replacements(rota) if changes else []
    touching = [r for r in replacements if r.start < end and r.end > start]
    first = _pieces(rota, rota.layers, start, end, shifts=True)
    # Widen to every piece and change touching [start, end), so those shifts come out whole.
    low = min([start, *(p.start for p in first), *(r.start for r in touching)])
    high = max([end, *(p.end for p in first), *(r.end for r in touching)])
    pieces = sorted(_pieces(rota, rota.layers, low, high, shifts=True), key=lambda p: p.start)
    relevant = [r for r in replacements if r.start < high and r.end > low]
    bounds = {low, high}
    for item_start, item_end in [(p.start, p.end) for p in pieces] + [
        (r.start, r.end) for r in relevant
    ]:
        bounds.update(b for b in (item_start, item_end) if low <= b <= high)
    edges = sorted(bounds)
    resolved: list[ResolvedShift] = []
    last_key: Hashable = None
    active: list[_Piece] = []
    waiting = 0
    for left, right in itertools.pairwise(edges):
        while waiting < len(pieces) and pieces[waiting].start <= left:
            active.append(pieces[waiting])
            waiting += 1
        active = [p for p in active if p.end > left]
        responder, key, source, _ = _resolve(active, relevant, left)
        if responder is None:
            last_key = None
            continue
        if resolved and key == last_key and resolved[-1].end == left:
            resolved[-1] = ResolvedShift(responder, resolved[-1].start, right, source)
        else:
            resolved.append(ResolvedShift(responder, left, right, source))
        last_key = key
    return [s for s in resolved if s.start < end and s.end > start]


def shifts_between(rota: RotaSettings, start: datetime, end: datetime) -> list[ResolvedShift]:
    """The final shifts overlapping [start, end) in time order, whole (not cut to the
    window); they never overlap. Gaps are gaps: the fallback is not a shift."""
    return _timeline(rota, require_aware(start, "start"), require_aware(end, "end"))


def planned_shifts_between(
    rota: RotaSettings, start: datetime, end: datetime
) -> list[ResolvedShift]:
    """Like :func:`shifts_between` but before swaps and overrides: the plan itself."""
    return _timeline(rota, require_aware(start, "start"), require_aware(end, "end"), changes=False)


def shift_of(rota: RotaSettings, responder: str, when: datetime) -> ResolvedShift | None:
    """``responder``'s resolved shift holding ``when``, if they are on shift then."""
    when = require_aware(when, "when")
    for shift in shifts_between(rota, when, when + _INSTANT):
        if shift.responder == responder:
            return shift
    return None


def _at(rota: RotaSettings, when: datetime) -> tuple[str | None, _Piece | None]:
    when = require_aware(when, "when")
    pieces = _pieces(rota, rota.layers, when, when + _INSTANT, shifts=True)
    responder, _, _, base = _resolve(pieces, _replacements(rota), when)
    return responder, base


def on_shift_at(rota: RotaSettings, when: datetime) -> Responder | None:
    """The responder on shift at ``when`` after layers, swaps and overrides (no fallback)."""
    name, _ = _at(rota, when)
    return rota.responder(name) if name else None


def on_duty_at(rota: RotaSettings, when: datetime) -> Responder | None:
    """Who must answer at ``when``: the responder on shift, else the fallback, else None."""
    responder = on_shift_at(rota, when)
    if responder is None and rota.fallback is not None:
        return rota.responder(rota.fallback)
    return responder


def _next_in_rotation(piece: _Piece | None, primary: str | None) -> str | None:
    if piece is None or piece.layer is None:
        return None
    names = piece.layer.responders
    for step in range(1, len(names) + 1):
        name = names[(piece.turn + step) % len(names)]
        if name != primary:
            return name
    return None


def escalation_chain_at(rota: RotaSettings, when: datetime) -> EscalationChain:
    """Primary: who is on duty. Secondary, the first of these that is not the primary:
    the on-duty responder of ``secondary_layers``, else (without secondary layers) the
    next responder in the rotation of the layer that plans ``when``; then the fallback.
    Lead: ``lead``, else the fallback."""
    primary = on_duty_at(rota, when)
    primary_name = primary.name if primary else None
    _, base = _at(rota, when)
    candidates: list[str | None] = []
    if rota.secondary_layers:
        instant = require_aware(when, "when")
        pieces = _pieces(rota, rota.secondary_layers, instant, instant + _INSTANT, shifts=False)
        candidates.append(_resolve(pieces, [], instant)[0])
    else:
        candidates.append(_next_in_rotation(base, primary_name))
    candidates.append(rota.fallback)
    secondary = next((c for c in candidates if c is not None and c != primary_name), None)
    return EscalationChain(
        primary=primary,
        secondary=rota.responder(secondary) if secondary else None,
        lead=rota.lead or rota.fallback,
    )


def responder_by_slack_id(rota: RotaSettings, slack_id: str) -> Responder | None:
    """The responder with this Slack user id (who clicked a button), if on the rota."""
    return next((r for r in rota.responders if r.slack_id and r.slack_id == slack_id), None)


def is_rota_member(rota: RotaSettings, name: str) -> bool:
    """Whether ``name`` is a responder on the rota."""
    return any(responder.name == name for responder in rota.responders)


def coverage_gaps(
    rota: RotaSettings, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The parts of [start, end) that no shift covers (the fallback does not count)."""
    start = require_aware(start, "start")
    end = require_aware(end, "end")
    gaps: list[tuple[datetime, datetime]] = []
    cursor = start
    for shift in shifts_between(rota, start, end):
        if shift.start > cursor:
            gaps.append((cursor, min(shift.start, end)))
        cursor = max(cursor, shift.end)
        if cursor >= end:
            break
    if cursor < end:
        gaps.append((cursor, end))
    return gaps


def uncovered_hours(rota: RotaSettings, start: datetime, days: int) -> list[datetime]:
    """The start (UTC) of every hour in ``days`` days from ``start`` that no shift fully
    covers, so a 30-minute gap at lunch shows up as the hour it falls in."""
    if days < 0:
        raise ValueError(f"days must be >= 0, found {days}")
    start = require_aware(start, "start")
    end = start + timedelta(days=days)
    gaps = coverage_gaps(rota, start, end)
    hours: list[datetime] = []
    slot = start
    while slot < end:
        slot_end = slot + timedelta(hours=1)
        if any(gap_start < slot_end and gap_end > slot for gap_start, gap_end in gaps):
            hours.append(slot)
        slot = slot_end
    return hours
