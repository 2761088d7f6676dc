"""The ``escalate`` flow: its task logic through ``.fn()``, and the whole flow on the
session's Prefect harness delivering through the real slack-sdk client to the local
Slack-compatible server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prefect.logging import disable_run_logger
from sqlalchemy import select
from typer.testing import CliRunner

from alerts.complaints import open_complaints
from alerts.local_slack import LocalSlackServer
from flows.config import load_config
from storage.db import open_database, session_scope
from storage.models import Notification
from tests.test_alerts_complaints import add_post

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
TOKEN_ENV = "UPROAR_TEST_ESCALATION_TOKEN"
CONFIG = """
[database]
url = "{database}"

[slack]
enabled = true
channel = "#uproar-alerts"
token_env = "{token_env}"
base_url = "{slack}"

[rota]
fallback = "ben"  # never on duty (ana covers every hour): the secondary
lead = "#pr-leads"

[[rota.responders]]
name = "ana"
slack_id = "U0ANA"

[[rota.responders]]
name = "ben"
slack_id = "U0BEN"

[[rota.shifts]]
responder = "ana"
start = "00:00"
end = "00:00"

[escalation.P1]
repeat = 0
"""


@pytest.fixture
def slack() -> Iterator[LocalSlackServer]:
    with LocalSlackServer() as server:
        yield server


@pytest.fixture
def config_path(tmp_path: Path, slack: LocalSlackServer, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(TOKEN_ENV, "xoxb-test")
    monkeypatch.delenv("UPROAR_DATABASE_URL", raising=False)
    database = f"sqlite:///{tmp_path / 'uproar.db'}"
    path = tmp_path / "uproar.toml"
    path.write_text(
        CONFIG.format(database=database, token_env=TOKEN_ENV, slack=slack.base_url),
        encoding="utf-8",
    )
    config = load_config(path)
    engine, factory = open_database(database)
    with session_scope(factory) as session:
        add_post(
            session, "viral", "Parcel lost, support useless", 0.95, followers=20_000, fetched_at=T0
        )
        open_complaints(
            session, config.thresholds, config.deadlines, config.rota, T0, channel="#uproar-alerts"
        )
    engine.dispose()
    return str(path)


def posted(slack: LocalSlackServer) -> list[str]:
    return [str(call.body.get("text")) for call in slack.calls if call.method == "chat.postMessage"]


def test_the_task_writes_what_is_due_and_nothing_twice(config_path: str) -> None:
    from flows.escalation import escalate_due

    config = load_config(config_path)
    with disable_run_logger():
        first = escalate_due.fn(config, T0 + timedelta(minutes=5))
        again = escalate_due.fn(config, T0 + timedelta(minutes=5))
    assert first.written == ["complaint:1:escalation:2:1"]
    assert again.written == [] and again.already_sent == 1


def test_the_flow_escalates_and_delivers_once_per_minute_however_often_it_runs(
    prefect_harness: None, config_path: str, slack: LocalSlackServer
) -> None:
    from flows.escalation import escalate

    at_five = escalate(config_path, now=T0 + timedelta(minutes=5))
    assert at_five.escalation.written == ["complaint:1:escalation:2:1"]
    assert at_five.delivery is not None and at_five.delivery.delivered == 2  # + opening alert
    texts = posted(slack)
    assert len(texts) == 2
    assert texts[1] == (
        "<@U0BEN> #1 P1 unclaimed for 5m: reminding ana; escalating to ben (secondary)"
    )

    same_minute = escalate(config_path, now=T0 + timedelta(minutes=5, seconds=30))
    assert same_minute.escalation.written == []
    assert same_minute.delivery is not None and same_minute.delivery.delivered == 0
    assert len(posted(slack)) == 2

    later = escalate(config_path, now=T0 + timedelta(minutes=16))
    assert later.escalation.written == [
        "complaint:1:escalation:3:1",
        "complaint:1:deadline_missed:acknowledge",
    ]
    assert len(posted(slack)) == 4

    engine, factory = open_database(load_config(config_path).database.url)
    with factory() as session:
        statuses = set(session.execute(select(Notification.status)).scalars())
    engine.dispose()
    assert statuses == {"delivered"}


@pytest.mark.slow
def test_uproar_escalate_runs_one_pass(
    prefect_harness: None, config_path: str, slack: LocalSlackServer
) -> None:
    from flows.cli import app

    result = CliRunner().invoke(app, ["escalate", "--config", config_path])
    assert result.exit_code == 0, result.output
    # long after opening: the last step of the single round and the missed deadlines
    assert "complaint:1:escalation:3:1" in result.output
    assert "complaint:1:deadline_missed:acknowledge" in result.output
    assert "delivered" in result.output
    again = CliRunner().invoke(app, ["escalate", "--config", config_path])
    assert again.exit_code == 0 and "0 notifications written" in again.output


def test_uproar_escalate_dry_run_shows_what_is_due_and_writes_nothing(config_path: str) -> None:
    from flows.cli import app

    result = CliRunner().invoke(app, ["escalate", "--config", config_path, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "(dry run: nothing written)" in result.output
    assert "complaint:1:escalation:3:1 -> #pr-leads" in result.output
    engine, factory = open_database(load_config(config_path).database.url)
    with factory() as session:
        kinds = list(session.execute(select(Notification.kind)).scalars())
    engine.dispose()
    assert kinds == ["complaint_opened"]


def test_uproar_escalate_names_a_config_mistake(tmp_path: Path) -> None:
    from flows.cli import app

    path = tmp_path / "uproar.toml"
    path.write_text('[escalation]\nrepeat = "often"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["escalate", "--config", str(path)])
    assert result.exit_code == 2
    assert "escalation.repeat" in result.output and "'often'" in result.output
