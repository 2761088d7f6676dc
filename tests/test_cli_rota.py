"""``uproar rota``: real config files, a real database, the real CLI; and the stored
changes on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from alerts.config import RotaSettings
from alerts.rota import on_duty_at, uncovered_hours
from alerts.rota_changes import (
    RotaChangeError,
    RotaChangeNotFound,
    add_override,
    add_swap,
    list_changes,
    load_rota,
    remove_change,
)
from flows.cli import app
from flows.config import load_config
from flows.demo import write_demo_config
from storage.db import session_scope

runner = CliRunner()
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

# Weekly rotation in London: bo has the week of 2 March, ana that of 9 March (Mondays 09:00);
# its window, 02:00 to 01:00, leaves 01:00-02:00 London time uncovered every day.
ROTA = """
[rota]
fallback = "lead"
lead = "#pr-leads"

[[rota.responders]]
name = "ana"
slack_id = "UANA"
timezone = "Europe/London"

[[rota.responders]]
name = "bo"
timezone = "Europe/London"

[[rota.responders]]
name = "cy"
timezone = "Europe/London"

[[rota.responders]]
name = "lead"

[[rota.layers]]
name = "days"
responders = ["bo", "ana"]
timezone = "Europe/London"
start_date = 2026-01-05
restrictions = [{ start = "02:00", end = "01:00" }]
"""


def _config(tmp_path: Path, rota: str = ROTA) -> str:
    path = tmp_path / "uproar.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "rota.db"}"\n{rota}', "utf-8")
    return str(path)


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["rota", *args], env={"COLUMNS": "200", "TZ": "UTC"})
    return result.exit_code, result.output


def test_now_names_primary_secondary_and_lead(tmp_path: Path) -> None:
    config = _config(tmp_path)
    code, out = _run("now", "-c", config, "--at", "2026-03-04 12:00", "--tz", "Europe/London")
    assert code == 0, out
    assert "primary:   bo until Thu 2026-03-05 01:00 Europe/London (layer days)" in out
    assert "secondary: ana" in out and "lead:      #pr-leads" in out
    code, out = _run("now", "-c", config, "--at", "2026-03-04 01:30", "--tz", "Europe/London")
    assert "primary:   lead (fallback: nobody is on shift)" in out


def test_check_names_every_uncovered_hour_across_the_october_change(tmp_path: Path) -> None:
    config = _config(tmp_path)
    code, out = _run(
        "check", "-c", config, "--days", "2", "--from", "2026-10-24 00:00", "--tz", "Europe/London"
    )
    assert code == 1, out
    assert out.splitlines()[:3] == [
        "uncovered: 2026-10-24 01:00–02:00 Europe/London",
        "uncovered: 2026-10-25 01:00 BST–01:00 GMT Europe/London",  # the hour that repeats
        "uncovered: 2026-10-25 01:00–02:00 Europe/London",
    ]
    assert "3 uncovered hours" in out
    # In March the skipped hour is the gap, so that night has none.
    code, out = _run(
        "check", "-c", config, "--days", "2", "--from", "2026-03-28 00:00", "--tz", "Europe/London"
    )
    assert code == 1
    assert [line for line in out.splitlines() if line.startswith("uncovered")] == [
        "uncovered: 2026-03-28 01:00–02:00 Europe/London"
    ]


def test_demo_rota_has_no_gaps(tmp_path: Path) -> None:
    demo = write_demo_config(tmp_path, "http://127.0.0.1:1", "http://127.0.0.1:2/api/")
    for start in ("2026-03-01", "2026-10-15", "now"):
        code, out = _run("check", "-c", str(demo), "--days", "28", "--from", start)
        assert code == 0, out
        assert "No uncovered hours in the 28 days" in out
    rota = load_config(demo).rota
    assert uncovered_hours(rota, datetime(2027, 1, 1, tzinfo=UTC), days=365) == []


def test_show_is_a_table_in_the_asked_zone(tmp_path: Path) -> None:
    config = _config(tmp_path)
    code, out = _run(
        "show", "-c", config, "--days", "2", "--from", "2026-03-28 00:00", "--tz", "Europe/London"
    )
    assert code == 0, out
    assert "Europe/London" in out
    # Friday's shift runs 02:00 to 01:00 London. Saturday's ends at 01:00 on the night the
    # clocks jump from 01:00 to 02:00, when Sunday's starts: one unbroken 46-hour stretch.
    assert "│ Fri 2026-03-27 02:00 │ Sat 2026-03-28 01:00 │ 23 h   │ ana" in out
    assert "│ Sat 2026-03-28 02:00 │ Mon 2026-03-30 01:00 │ 46 h   │ ana" in out
    code, out = _run("show", "-c", config, "--from", "2026-03-28 00:00", "--tz", "Asia/Tokyo")
    assert "Sat 2026-03-28 11:00" in out  # the same shift seen from Tokyo


def test_override_then_remove_from_the_cli_with_who_did_it(tmp_path: Path) -> None:
    config = _config(tmp_path)
    code, out = _run(
        "override",
        "-c",
        config,
        "--responder",
        "bo",
        "--covering",
        "cy",
        "--from",
        "2026-03-04 09:00",
        "--to",
        "2026-03-05 09:00",
        "--as",
        "lead",
        "--tz",
        "Europe/London",
        "--note",
        "bo at the dentist",
    )
    assert code == 0, out
    assert "Rota change #1: cy covers bo" in out
    code, out = _run("now", "-c", config, "--at", "2026-03-04 12:00", "--tz", "Europe/London")
    assert "primary:   cy until Thu 2026-03-05 01:00 Europe/London (override #1)" in out
    code, out = _run("changes", "-c", config, "--tz", "Europe/London")
    assert code == 0 and "#1" in out and "cy covers bo" in out and "lead" in out
    code, out = _run("remove", "1", "-c", config, "--as", "ana")
    assert code == 0 and "Removed rota change #1" in out
    code, out = _run("now", "-c", config, "--at", "2026-03-04 12:00", "--tz", "Europe/London")
    assert "primary:   bo" in out
    assert "No rota changes." in _run("changes", "-c", config)[1]
    code, out = _run("changes", "-c", config, "--all")
    assert "ana at" in out  # removed by ana
    code, out = _run("remove", "1", "-c", config, "--as", "ana")
    assert code == 2 and "already removed by ana" in out


def test_swap_from_the_cli(tmp_path: Path) -> None:
    config = _config(tmp_path)
    code, out = _run(
        "swap",
        "-c",
        config,
        "--responder",
        "ana",
        "--at",
        "2026-03-10 12:00",
        "--with",
        "bo",
        "--with-at",
        "2026-03-17 12:00",
        "--as",
        "ana",
        "--tz",
        "UTC",
    )
    assert code == 0, out
    assert "ana and bo swap shifts" in out
    assert "bo takes Tue 2026-03-10 02:00 – Wed 2026-03-11 01:00" in out
    for at, expected in (("2026-03-10 12:00", "bo"), ("2026-03-17 12:00", "ana")):
        assert f"primary:   {expected}" in _run("now", "-c", config, "--at", at)[1]
    assert "primary:   bo" in _run("now", "-c", config, "--at", "2026-03-04 12:00")[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [
                "override",
                "--covering",
                "zed",
                "--from",
                "2026-03-04",
                "--to",
                "2026-03-05",
                "--as",
                "x",
            ],
            "covering responder 'zed' is not on the rota",
        ),
        (
            [
                "override",
                "--covering",
                "cy",
                "--from",
                "someday",
                "--to",
                "2026-03-05",
                "--as",
                "x",
            ],
            "--from: cannot read 'someday'",
        ),
        (
            [
                "override",
                "--covering",
                "cy",
                "--from",
                "2026-03-05",
                "--to",
                "2026-03-04",
                "--as",
                "x",
            ],
            "must end after it starts",
        ),
        (
            [
                "override",
                "--responder",
                "ana",
                "--covering",
                "cy",
                "--from",
                "2026-03-04 09:00",
                "--to",
                "2026-03-04 10:00",
                "--as",
                "x",
                "--tz",
                "UTC",
            ],
            "ana has no shift between",
        ),
        (
            [
                "swap",
                "--responder",
                "ana",
                "--at",
                "2026-03-04 12:00",
                "--with",
                "bo",
                "--with-at",
                "2026-03-11 12:00",
                "--as",
                "x",
            ],
            "ana has no shift at",
        ),
        (["now", "--tz", "Mars/Base"], "unknown time zone 'Mars/Base'"),
        (["remove", "7", "--as", "x"], "no rota change #7"),
    ],
)
def test_mistakes_exit_2_naming_the_problem(tmp_path: Path, args: list[str], message: str) -> None:
    code, out = _run(*args, "-c", _config(tmp_path))
    assert code == 2, out
    assert message in " ".join(out.split())


# --- the library under the CLI, on both databases -------------------------------------


def _rota() -> RotaSettings:
    return RotaSettings.model_validate(
        {
            "responders": [{"name": n} for n in ("ana", "bo", "cy")],
            "layers": [{"name": "w", "responders": ["bo", "ana"], "start_date": "2026-01-05"}],
        }
    )


def _at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


def test_stored_changes_make_the_effective_rota(session_factory: sessionmaker[Session]) -> None:
    settings = _rota()
    with session_scope(session_factory) as session:
        add_override(
            session,
            settings,
            covering="cy",
            responder="bo",
            start=_at(2),
            end=_at(3),
            actor="lead",
            now=NOW,
        )
        swap = add_swap(
            session,
            settings,
            responder="ana",
            at=_at(10),
            other="bo",
            other_at=_at(17),
            actor="bo",
            now=NOW,
        )
        assert (swap.starts_at, swap.ends_at) == (_at(9, 9), _at(16, 9))
        assert (swap.other_starts_at, swap.other_ends_at) == (_at(16, 9), _at(23, 9))
    with session_scope(session_factory) as session:
        effective = load_rota(session, settings)
        names = {day: on_duty_at(effective, _at(day)).name for day in (2, 4, 10, 17)}  # type: ignore[union-attr]
        assert names == {2: "cy", 4: "bo", 10: "bo", 17: "ana"}
        assert [c.created_by for c in list_changes(session)] == ["lead", "bo"]
        # Only changes still running matter for questions about later times.
        assert len(load_rota(session, settings, since=_at(5)).overrides) == 0
        remove_change(session, 1, "ana", NOW)
    with session_scope(session_factory) as session:
        assert on_duty_at(load_rota(session, settings), _at(2)).name == "bo"  # type: ignore[union-attr]
        assert [c.id for c in list_changes(session, include_removed=True)] == [1, 2]
        with pytest.raises(RotaChangeNotFound):
            remove_change(session, 99, "ana", NOW)
        with pytest.raises(RotaChangeError, match="say who makes the change"):
            add_override(
                session,
                settings,
                covering="cy",
                responder=None,
                start=_at(2),
                end=_at(3),
                actor=" ",
                now=NOW,
            )


def test_changes_naming_a_responder_no_longer_on_the_rota_are_left_out(
    session_factory: sessionmaker[Session],
) -> None:
    settings = _rota()
    with session_scope(session_factory) as session:
        add_override(
            session,
            settings,
            covering="cy",
            responder=None,
            start=_at(2),
            end=_at(3),
            actor="lead",
            now=NOW,
        )
    smaller = RotaSettings.model_validate(
        {**settings.model_dump(), "responders": [{"name": "ana"}, {"name": "bo"}]}
    )
    with session_scope(session_factory) as session:
        assert load_rota(session, smaller).overrides == []
        assert on_duty_at(load_rota(session, settings), _at(2)).name == "cy"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-29 09:00", datetime(2026, 3, 29, 8, tzinfo=UTC)),  # BST
        ("29 Mar 2026 1:30am", datetime(2026, 3, 29, 1, tzinfo=UTC)),  # skipped: the jump
        ("2026-10-25 01:30", datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),  # repeated: first
        ("2026-03-29T09:00+02:00", datetime(2026, 3, 29, 7, tzinfo=UTC)),  # offset wins
        ("15:00", datetime(2026, 12, 1, 15, tzinfo=UTC)),  # today in the zone
        ("now", NOW),
    ],
)
def test_dates_are_read_in_the_viewers_zone(text: str, expected: datetime) -> None:
    from flows.rota_view import parse_when

    assert parse_when(text, ZoneInfo("Europe/London"), NOW) == expected
