"""Property tests of the rota maths across daylight-saving changes in Europe/London,
America/New_York and Australia/Sydney.

The expected answers come from an oracle written here, independently of alerts.rota:
local times become instants by stepping minute by minute until the local clock reads
the time or later (the documented rule), and rotation turns are counted from handoffs.
"""

from __future__ import annotations

import functools
import itertools
import operator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import assume, given, settings, strategies as st

from alerts.config import RotaSettings
from alerts.rota import on_shift_at, planned_shifts_between, shifts_between

ZONES = ["Europe/London", "America/New_York", "Australia/Sydney"]
NAMES = ["ana", "bo", "cy", "dee"]
# The instants clocks change in 2026, per zone: windows are drawn around them.
CHANGES = {
    "Europe/London": [datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 10, 25, 1, tzinfo=UTC)],
    "America/New_York": [datetime(2026, 3, 8, 7, tzinfo=UTC), datetime(2026, 11, 1, 6, tzinfo=UTC)],
    "Australia/Sydney": [
        datetime(2026, 4, 4, 16, tzinfo=UTC),
        datetime(2026, 10, 3, 16, tzinfo=UTC),
    ],
}
WEEKDAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
MINUTE = timedelta(minutes=1)


# --- the oracle ----------------------------------------------------------------------------


def oracle_instant(naive: datetime, zone: ZoneInfo) -> datetime:
    """The first whole minute at which the clock in ``zone`` reads ``naive`` or later."""
    instant = naive.replace(tzinfo=zone, fold=1).astimezone(UTC) - timedelta(hours=3)
    while instant.astimezone(zone).replace(tzinfo=None) < naive:
        instant += MINUTE
    return instant


def oracle_turn(layer: dict[str, Any], instant: datetime) -> int | None:
    zone = ZoneInfo(layer["timezone"])
    anchor = datetime.combine(layer["start_date"], layer["handoff_time"])
    length = layer["length"]
    if instant < oracle_instant(anchor, zone):
        return None
    turn = max(0, int((instant - oracle_instant(anchor, zone)) / length) - 2)
    while oracle_instant(anchor + (turn + 1) * length, zone) <= instant:
        turn += 1
    return turn


def oracle_window_holds(window: dict[str, Any], zone: ZoneInfo, instant: datetime) -> bool:
    local_day = instant.astimezone(zone).date()
    for day in (local_day - timedelta(days=1), local_day):
        if WEEKDAY_NAMES[day.weekday()] not in window["days"]:
            continue
        end_day = day + timedelta(days=1) if window["end"] <= window["start"] else day
        begins = oracle_instant(datetime.combine(day, window["start"]), zone)
        ends = oracle_instant(datetime.combine(end_day, window["end"]), zone)
        if begins <= instant < ends:
            return True
    return False


def oracle_on_shift(layers: list[dict[str, Any]], instant: datetime) -> str | None:
    for layer in layers:
        turn = oracle_turn(layer, instant)
        if turn is None:
            continue
        zone = ZoneInfo(layer["timezone"])
        windows = layer["restrictions"]
        if windows and not any(oracle_window_holds(w, zone, instant) for w in windows):
            continue
        return str(layer["responders"][turn % len(layer["responders"])])
    return None


# --- strategies ----------------------------------------------------------------------------

clock = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
rotation = st.sampled_from(
    [
        ("daily", timedelta(days=1)),
        ("weekly", timedelta(days=7)),
        ("12h", timedelta(hours=12)),
        ("3d", timedelta(days=3)),
        ("5h", timedelta(hours=5)),
    ]
)
window = st.fixed_dictionaries(
    {
        "days": st.lists(st.sampled_from(WEEKDAY_NAMES), min_size=1, max_size=7, unique=True),
        "start": clock,
        "end": clock,
    }
)


@st.composite
def layers(draw: st.DrawFn, restricted: bool = True) -> dict[str, Any]:
    name, length = draw(rotation)
    return {
        "name": f"layer-{draw(st.integers(0, 10**6))}",
        "responders": draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4)),
        "rotation": name,
        "length": length,
        "handoff_time": draw(clock),
        "timezone": draw(st.sampled_from(ZONES)),
        "start_date": draw(st.dates(date(2025, 12, 1), date(2026, 12, 31))),
        "restrictions": draw(st.lists(window, max_size=2)) if restricted else [],
    }


@st.composite
def windows(draw: st.DrawFn, zone: str | None = None) -> tuple[datetime, datetime]:
    """A few days around one of the year's clock changes."""
    change = draw(
        st.sampled_from(
            CHANGES[zone] if zone else functools.reduce(operator.iadd, CHANGES.values(), [])
        )
    )
    start = change + timedelta(minutes=15 * draw(st.integers(-4 * 72, 4 * 24)))
    return start, start + timedelta(hours=draw(st.integers(1, 96)))


def as_rota(layer_list: list[dict[str, Any]], **values: Any) -> RotaSettings:
    cleaned = [
        {k: v for k, v in layer.items() if k != "length"} | {"name": f"{layer['name']}-{i}"}
        for i, layer in enumerate(layer_list)
    ]
    return RotaSettings.model_validate(
        {"responders": [{"name": n} for n in NAMES], "layers": cleaned, **values}
    )


def instants(start: datetime, end: datetime) -> st.SearchStrategy[datetime]:
    minutes = int((end - start) / MINUTE)
    return st.integers(0, minutes - 1).map(lambda m: start + m * MINUTE)


# --- properties ----------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(st.lists(layers(), min_size=1, max_size=3), windows(), st.data())
def test_resolved_shifts_never_overlap_and_give_the_oracle_responder(
    layer_list: list[dict[str, Any]], window_: tuple[datetime, datetime], data: st.DataObject
) -> None:
    rota = as_rota(layer_list)
    start, end = window_
    found = shifts_between(rota, start, end)
    assert all(s.start < s.end for s in found)
    assert all(a.end <= b.start for a, b in itertools.pairwise(found))
    assert all(s.start < end and s.end > start for s in found)
    for _ in range(5):
        instant = data.draw(instants(start, end))
        expected = oracle_on_shift(layer_list, instant)
        holding = [s.responder for s in found if s.start <= instant < s.end]
        assert holding == ([expected] if expected else [])
        on_shift = on_shift_at(rota, instant)
        assert (on_shift.name if on_shift else None) == expected


@settings(max_examples=150, deadline=None)
@given(layers(restricted=False), st.sampled_from(ZONES).flatmap(windows))
def test_an_unrestricted_rotation_tiles_time_with_handoffs_at_the_local_time(
    layer: dict[str, Any], window_: tuple[datetime, datetime]
) -> None:
    rota = as_rota([layer])
    zone = ZoneInfo(layer["timezone"])
    anchor = datetime.combine(layer["start_date"], layer["handoff_time"])
    first = oracle_instant(anchor, zone)
    start, end = window_
    assume(end > first)
    start = max(start, first)
    found = shifts_between(rota, start, end)
    assert found[0].start <= start and found[-1].end >= end
    assert all(a.end == b.start for a, b in itertools.pairwise(found))
    for shift in found:
        turn = oracle_turn(layer, shift.start)
        assert turn is not None
        # Each shift starts exactly at a handoff: the stated local time, by the rule.
        assert shift.start == oracle_instant(anchor + turn * layer["length"], zone)
        assert shift.responder == layer["responders"][turn % len(layer["responders"])]
        if layer["length"] % timedelta(days=1) == timedelta(0):
            local = shift.start.astimezone(zone)
            skipped = (shift.start - MINUTE).astimezone(zone).utcoffset() != local.utcoffset()
            assert local.time() == layer["handoff_time"] or skipped


@settings(max_examples=150, deadline=None)
@given(
    st.lists(layers(), min_size=1, max_size=2),
    windows(),
    st.sampled_from([None, *NAMES]),
    st.sampled_from(NAMES),
    st.data(),
)
def test_an_override_changes_only_its_interval(
    layer_list: list[dict[str, Any]],
    window_: tuple[datetime, datetime],
    covered: str | None,
    covering: str,
    data: st.DataObject,
) -> None:
    assume(covered != covering)
    start, end = window_
    override_start = data.draw(instants(start, end))
    override_end = override_start + timedelta(minutes=data.draw(st.integers(1, 48 * 60)))
    override = {
        "responder": covered,
        "covering": covering,
        "start": override_start,
        "end": override_end,
    }
    plain = as_rota(layer_list)
    changed = as_rota(layer_list, overrides=[override])
    for _ in range(8):
        instant = data.draw(instants(start - timedelta(days=1), end + timedelta(days=2)))
        before = on_shift_at(plain, instant)
        after = on_shift_at(changed, instant)
        before_name = before.name if before else None
        inside = override_start <= instant < override_end
        if inside and covered in (None, before_name):
            assert after is not None and after.name == covering
        else:
            assert (after.name if after else None) == before_name
        holding = [s.responder for s in shifts_between(changed, instant, instant + MINUTE)]
        assert holding == ([after.name] if after else [])

    # Outside the interval the resolved shifts are the same (cut to the interval's edges).
    def outside(rota: RotaSettings) -> list[tuple[str, datetime, datetime]]:
        cut = []
        for s in shifts_between(rota, start, end):
            for a, b in (
                (s.start, min(s.end, override_start)),
                (max(s.start, override_end), s.end),
            ):
                a, b = max(a, start), min(b, end)
                if a < b:
                    cut.append((s.responder, a, b))
        return cut

    assert outside(changed) == outside(plain)


@settings(max_examples=100, deadline=None)
@given(st.lists(layers(), min_size=1, max_size=2), windows(), st.data())
def test_a_swap_exchanges_exactly_two_shifts(
    layer_list: list[dict[str, Any]], window_: tuple[datetime, datetime], data: st.DataObject
) -> None:
    start, end = window_
    plain = as_rota(layer_list)
    planned = planned_shifts_between(plain, start, end)
    pairs = [
        (i, j)
        for i, a in enumerate(planned)
        for j, b in enumerate(planned)
        if i < j and a.responder != b.responder
    ]
    assume(pairs)
    i, j = data.draw(st.sampled_from(pairs))
    first, second = planned[i], planned[j]
    ref = lambda s: {"responder": s.responder, "start": s.start, "end": s.end}  # noqa: E731
    swapped = as_rota(layer_list, swaps=[{"first": ref(first), "second": ref(second)}])
    after = shifts_between(swapped, start, end)
    assert [(s.start, s.end) for s in after] == [(s.start, s.end) for s in planned]
    changed = [
        k for k, (a, b) in enumerate(zip(planned, after, strict=True)) if a.responder != b.responder
    ]
    assert changed == [i, j]
    assert (after[i].responder, after[j].responder) == (second.responder, first.responder)
