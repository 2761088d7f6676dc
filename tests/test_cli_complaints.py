"""``uproar complaints``: list, show and every action, through typer's CliRunner against a
temporary SQLite database and config file."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from flows.cli import app
from storage.db import open_database, session_scope
from storage.models import Complaint, ComplaintEvent, Notification, Post

runner = CliRunner()
HOUR = timedelta(hours=1)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "uproar.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "desk.db"}"\n'
        '[[watches]]\nname = "acme"\nquery = "acme"\n'
        '[[rota.responders]]\nname = "ana"\nslack_id = "U01ANA"\n'
        '[[rota.responders]]\nname = "bo"\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture
def factory(tmp_path: Path, config: Path) -> sessionmaker[Session]:
    engine, made = open_database(f"sqlite:///{tmp_path / 'desk.db'}")
    yield made
    engine.dispose()


def add_complaint(
    factory: sessionmaker[Session],
    *,
    opened: datetime,
    priority: str = "P1",
    status: str = "open",
    external_id: str = "1",
    text: str = "Acme leaked my card 4111 1111 1111 1111, mail me at jo@example.com",
) -> int:
    """A complaint with the default deadlines of ``priority`` from ``opened``."""
    due = {"P1": (15, 60, 24 * 60), "P2": (60, 240, 72 * 60), "P3": (480, 1440, 7 * 1440)}
    ack, response, resolution = (timedelta(minutes=m) for m in due[priority])
    with session_scope(factory) as session:
        post = Post(
            source="mastodon",
            platform="mastodon",
            external_id=external_id,
            text=text,
            author="jo",
            author_followers=12_000,
            url=f"https://mastodon.example/@jo/{external_id}",
            content_hash=external_id * 8,
            watch="acme",
        )
        session.add(post)
        session.flush()
        complaint = Complaint(
            post_id=post.id,
            watch="acme",
            status=status,
            priority=priority,
            category="privacy",
            reach=12_000,
            negativity=0.93,
            on_duty="ana",
            opened_at=opened,
            ack_due_at=opened + ack,
            response_due_at=opened + response,
            resolution_due_at=opened + resolution,
            updated_at=opened,
        )
        session.add(complaint)
        session.flush()
        session.add(
            ComplaintEvent(
                complaint_id=complaint.id,
                actor="uproar",
                action="opened",
                at=opened,
                detail={"reach": 12_000, "priority": priority},
            )
        )
        return complaint.id


def cli(config: Path, *args: str):
    return runner.invoke(
        app, ["complaints", *args, "--config", str(config)], env={"COLUMNS": "200"}
    )


def test_the_whole_life_of_a_complaint_from_the_command_line(config, factory) -> None:
    now = datetime.now(UTC)
    cid = add_complaint(factory, opened=now - timedelta(minutes=5))

    claimed = cli(config, "claim", str(cid), "--as", "ana")
    assert claimed.exit_code == 0, claimed.output
    assert f"#{cid} is claimed, owner ana" in claimed.output
    responded = cli(config, "respond", str(cid), "--as", "ana", "--note", "DM sent to jo@x.org")
    assert responded.exit_code == 0, responded.output
    waiting = cli(config, "wait", str(cid), "--as", "ana")
    assert f"#{cid} is waiting" in waiting.output

    shown = cli(config, "show", str(cid))
    assert shown.exit_code == 0, shown.output
    out = shown.output
    assert f"Complaint #{cid} · P1 · waiting · owner ana" in out
    assert "4111 1111 1111 1111" not in out and "jo@example.com" not in out
    assert "[card-number]" in out and "[email]" in out
    assert "jo@x.org" not in out  # the note in the trail is masked too
    assert "acknowledge" in out and "met (" in out  # claimed within 15 minutes
    assert "paused, waiting on the customer" in out
    trail = out.split("Audit trail:")[1]
    assert [line.split()[3] for line in trail.strip().splitlines()] == [
        "opened",
        "claimed",
        "responded",
        "waiting",
    ]

    assert cli(config, "resume", str(cid), "--as", "ana").exit_code == 0
    resolved = cli(config, "resolve", str(cid), "--as", "ana", "--outcome", "card replaced")
    assert resolved.exit_code == 0, resolved.output
    assert f"#{cid} is resolved, owner ana" in resolved.output

    with session_scope(factory) as session:
        complaint = session.get(Complaint, cid)
        assert complaint is not None
        assert (complaint.ack_met, complaint.response_met, complaint.resolution_met) == (
            True,
            True,
            True,
        )
        actions = session.execute(
            select(ComplaintEvent.action)
            .where(ComplaintEvent.complaint_id == cid)
            .order_by(ComplaintEvent.id)
        ).scalars()
        assert list(actions) == ["opened", "claimed", "responded", "waiting", "resumed", "resolved"]
        kinds = session.execute(select(Notification.kind)).scalars().all()
        assert kinds == ["complaint_event"] * 5  # every change goes to the Slack thread


def test_show_gives_missed_deadlines_and_time_left(config, factory) -> None:
    now = datetime.now(UTC)
    late = add_complaint(factory, opened=now - 3 * HOUR, external_id="1")
    fresh = add_complaint(factory, opened=now, priority="P3", external_id="2")
    assert cli(config, "claim", str(late), "--as", "bo").exit_code == 0

    out = cli(config, "show", str(late)).output
    ack = next(line for line in out.splitlines() if line.strip().startswith("acknowledge"))
    assert "MISSED, 2h45m late" in ack
    response = next(line for line in out.splitlines() if line.strip().startswith("response"))
    assert "OVERDUE by 2h" in response
    resolution = next(line for line in out.splitlines() if line.strip().startswith("resolution"))
    assert "20h" in resolution and "left" in resolution

    out = cli(config, "show", str(fresh)).output
    assert "owner nobody" in out and "on duty when opened: ana" in out
    ack = next(line for line in out.splitlines() if line.strip().startswith("acknowledge"))
    assert ack.endswith("left") and "7h" in ack


def test_list_filters_by_status_and_priority(config, factory) -> None:
    now = datetime.now(UTC)
    first = add_complaint(factory, opened=now - HOUR, external_id="1", priority="P1")
    add_complaint(factory, opened=now, external_id="2", priority="P3")
    cli(config, "claim", str(first), "--as", "ana")

    everything = cli(config, "list")
    assert everything.exit_code == 0, everything.output
    assert "2 complaints" in everything.output
    assert "4111" not in everything.output

    claimed = cli(config, "list", "--status", "claimed")
    assert "1 complaints" in claimed.output and "ana" in claimed.output
    p3 = cli(config, "list", "--priority", "P3")
    assert "1 complaints" in p3.output and "P3" in p3.output and "P1" not in p3.output
    none = cli(config, "list", "--status", "claimed", "--priority", "P3")
    assert "No complaints with status claimed and priority P3." in none.output
    bad = cli(config, "list", "--priority", "P9")
    assert bad.exit_code == 2 and "--priority 'P9' is not one of: P1, P2, P3" in bad.output


def test_only_rota_responders_may_act(config, factory) -> None:
    cid = add_complaint(factory, opened=datetime.now(UTC))
    result = cli(config, "claim", str(cid), "--as", "mallory")
    assert result.exit_code == 2
    assert "--as 'mallory' is not a responder on the rota; responders: ana, bo" in result.output
    missing = runner.invoke(app, ["complaints", "claim", str(cid), "--config", str(config)])
    assert missing.exit_code == 2 and "--as" in missing.output


def test_wrong_transitions_and_claims_exit_2_with_a_message(config, factory) -> None:
    cid = add_complaint(factory, opened=datetime.now(UTC))
    early = cli(config, "resolve", str(cid), "--as", "ana")
    assert early.exit_code == 2
    assert f"cannot resolve complaint #{cid}: it is open; allowed now: claim, dismiss" in (
        early.output
    )
    assert cli(config, "claim", str(cid), "--as", "ana").exit_code == 0
    taken = cli(config, "claim", str(cid), "--as", "bo")
    assert taken.exit_code == 2
    assert f"complaint #{cid} is already claimed by ana" in taken.output
    assert "--take-over" in taken.output
    foreign = cli(config, "respond", str(cid), "--as", "bo")
    assert foreign.exit_code == 2 and "already claimed by ana" in foreign.output

    over = cli(config, "claim", str(cid), "--as", "bo", "--take-over")
    assert over.exit_code == 0 and "owner bo" in over.output
    gone = cli(config, "dismiss", str(cid), "--as", "bo", "--reason", "a parody account")
    assert gone.exit_code == 0 and "dismissed" in gone.output
    again = cli(config, "resume", str(cid), "--as", "bo")
    assert again.exit_code == 2 and "it is dismissed" in again.output

    nothing = cli(config, "show", "999")
    assert nothing.exit_code == 2 and "no complaint #999" in nothing.output
    assert cli(config, "claim", "999", "--as", "ana").exit_code == 2
    trail = cli(config, "show", str(cid)).output
    assert "taken_over" in trail and "previous_owner=ana" in trail
    assert "reason=a parody account" in trail


def test_two_responders_claiming_at_once_one_is_told_who_won(config, factory) -> None:
    """Two real `uproar complaints claim` processes at the same moment: one owner, and the
    other exits 2 naming them."""
    cid = add_complaint(factory, opened=datetime.now(UTC))
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    processes = {
        name: subprocess.Popen(
            [
                sys.executable,
                "-m",
                "flows",
                "complaints",
                "claim",
                str(cid),
                "--as",
                name,
                "--config",
                str(config),
            ],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name in ("ana", "bo")
    }
    results = {
        name: (proc.wait(timeout=120), proc.stdout.read()) for name, proc in processes.items()
    }
    for proc in processes.values():
        proc.stdout.close()
    assert sorted(code for code, _ in results.values()) == [0, 2], results
    winner = next(name for name, (code, _) in results.items() if code == 0)
    loser_output = next(out for code, out in results.values() if code == 2)
    assert f"already claimed by {winner}" in loser_output
    with session_scope(factory) as session:
        assert session.get(Complaint, cid).owner == winner


def test_a_bad_config_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "uproar.toml"
    path.write_text('[triage]\np1_score = "high"\n', encoding="utf-8")
    result = runner.invoke(app, ["complaints", "list", "--config", str(path)])
    assert result.exit_code == 2
    assert str(path) in result.output and "triage.p1_score" in result.output


def test_an_unreachable_database_exits_2_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "uproar.toml"
    path.write_text(
        '[database]\nurl = "postgresql://nobody@127.0.0.1:1/none"\n'
        '[[rota.responders]]\nname = "ana"\n',
        encoding="utf-8",
    )
    for args in (["list"], ["show", "1"], ["claim", "1", "--as", "ana"]):
        result = runner.invoke(app, ["complaints", *args, "--config", str(path)])
        assert result.exit_code == 2, (args, result.output)
        assert "could not upgrade the database at postgresql" in result.output
