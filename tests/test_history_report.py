"""Charts, ``uproar report`` and the daily digest (real slack-sdk against the local server)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread
from slack_sdk import WebClient
from typer.testing import CliRunner

from alerts.local_slack import LocalSlackServer
from flows.charts import (
    complaints_by_category_chart,
    deadline_hit_rate_chart,
    negative_share_chart,
    robust_z,
    spike_days,
    time_to_claim_chart,
)
from flows.cli import app
from flows.config import ConfigError, UproarConfig, parse_config
from flows.digest import make_digest, send_digest, send_digest_task
from flows.schedule import scheduled_flows
from storage.db import open_database, session_scope
from tests.history_data import build_history

runner = CliRunner()
NOW = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n"


def _drawn(path: Path) -> None:
    """A real PNG with something on it (not one flat colour)."""
    assert path.read_bytes().startswith(PNG)
    pixels = imread(path)
    assert pixels.shape[0] > 200 and pixels.shape[1] > 400
    assert np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0).shape[0] > 10


def test_robust_z_marks_the_outlying_day_and_spike_complaints() -> None:
    days = pd.date_range("2026-11-01", periods=10, freq="D", tz="UTC")
    share = [0.20, 0.22, 0.19, 0.21, 0.20, 0.80, 0.21, 0.18, 0.20, 0.22]
    daily = pd.DataFrame({"day": days, "negative_share": share, "mentions": 100})
    assert robust_z(daily["negative_share"]).idxmax() == 5
    assert robust_z(pd.Series([0.2, 0.2, 0.2])).tolist() == [0.0, 0.0, 0.0]
    marked = spike_days(daily, [pd.Timestamp("2026-11-02", tz="UTC")])
    assert marked == [days[1], days[5]]


def test_every_chart_is_written_and_not_empty(tmp_path: Path) -> None:
    days = pd.date_range("2026-11-01", periods=14, freq="D", tz="UTC")
    daily = pd.DataFrame(
        {"day": days, "negative_share": np.linspace(0.1, 0.3, 14), "mentions": range(50, 64)}
    )
    charts = [
        negative_share_chart(daily, [days[3]], tmp_path / "share.png"),
        complaints_by_category_chart(
            pd.DataFrame({"category": ["logistics", "after_sales", None], "complaints": [5, 3, 1]}),
            tmp_path / "category.png",
        ),
        deadline_hit_rate_chart(
            pd.DataFrame(
                {
                    "priority": ["P1", "P1", "P1", "P2"],
                    "deadline": ["ack", "response", "resolution", "ack"],
                    "decided": [4, 3, 2, 1],
                    "met": [2, 2, 1, 1],
                    "hit_rate": [0.5, 2 / 3, 0.5, 1.0],
                }
            ),
            tmp_path / "deadlines.png",
        ),
        time_to_claim_chart(pd.Series([60.0, 300.0, 900.0, 4000.0, None]), tmp_path / "claim.png"),
        time_to_claim_chart(pd.Series([], dtype=float), tmp_path / "empty.png"),
    ]
    for chart in charts:
        _drawn(chart)


@pytest.fixture
def config(tmp_path: Path) -> UproarConfig:
    url = f"sqlite:///{tmp_path / 'report.db'}"
    _, factory = open_database(url)
    with session_scope(factory) as session:
        build_history(session)
    return parse_config(
        {
            "database": {"url": url},
            "watches": [{"name": "larkspur", "query": "larkspur"}],
            "slack": {"enabled": False, "channel": "#brand-alerts"},
        }
    )


def test_report_writes_charts_and_a_markdown_and_html_summary(
    config: UproarConfig, tmp_path: Path
) -> None:
    path = tmp_path / "uproar.toml"
    path.write_text(
        f'[database]\nurl = "{config.database.url}"\n'
        '[[watches]]\nname = "larkspur"\nquery = "larkspur"\n',
        encoding="utf-8",
    )
    out = tmp_path / "report"
    result = runner.invoke(
        app,
        [
            "report",
            "--config",
            str(path),
            "--watch",
            "larkspur",
            "--since",
            "2026-10-01",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    markdown = (out / "summary.md").read_text(encoding="utf-8")
    assert "| Mentions | 6 (5 scored) |" in markdown
    assert "| Negative share | 60.0% (3 negative) |" in markdown
    assert "| Complaints | 4 (P1 3, P2 1) |" in markdown
    assert "| Repeat rate | 33.3% |" in markdown
    assert "| Time to claim | p50 15 min, p90 34 min |" in markdown
    assert "| Deadlines met | ack 50.0%, response 66.7%, resolution 50.0% |" in markdown
    assert "| Busiest weekday | Monday |" in markdown
    assert "jo@example.com" not in markdown and "[email]" in markdown
    html = (out / "summary.html").read_text(encoding="utf-8")
    assert "<table>" in html and 'src="negative_share.png"' in html
    for name in ("negative_share", "complaints_by_category", "deadline_hit_rate", "time_to_claim"):
        _drawn(out / f"{name}.png")
    future = runner.invoke(app, ["report", "--config", str(path), "--since", "2999-01-01"])
    assert future.exit_code == 2 and "in the future" in future.output


def test_digest_posts_the_summary_and_uploads_the_charts_in_its_thread(
    config: UproarConfig, tmp_path: Path
) -> None:
    digest = make_digest(config, NOW, tmp_path / "charts", period="14d")
    assert "Mentions: 7 (6 scored)" in digest.text
    assert "jo@example.com" not in digest.text
    with LocalSlackServer(token="xoxb-digest", channels=("brand-alerts",)) as slack:
        client = WebClient(token="xoxb-digest", base_url=slack.base_url)
        sent = send_digest(client, "#brand-alerts", digest)
        messages, files = slack.messages, slack.files
    assert len(messages) == 1 and messages[0]["channel_name"] == "brand-alerts"
    assert "uproar daily digest" in messages[0]["text"]
    assert sent.files == 4 and len(files) == 4
    assert {f["thread_ts"] for f in files} == {messages[0]["ts"]}
    assert {f["channel"] for f in files} == {messages[0]["channel"]}
    assert all(f["content"].startswith(PNG) for f in files)
    assert sorted(f["filename"] for f in files) == sorted(p.name for p in digest.charts)


def test_digest_prints_when_slack_is_off(
    config: UproarConfig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    digest = make_digest(config, NOW, tmp_path / "charts")
    sent = send_digest_task.fn(config, digest)
    assert sent.destination == "console"
    assert "uproar daily digest" in capsys.readouterr().out


def test_serve_schedules_the_monitor_escalation_and_the_daily_digest(
    config: UproarConfig,
) -> None:
    flows = scheduled_flows(config, "/etc/uproar.toml", 300)
    assert [(flow.name, settings["name"]) for flow, settings in flows] == [
        ("monitor", "uproar-monitor"),
        ("escalate", "uproar-escalate"),
        ("digest", "uproar-digest"),
    ]
    assert flows[0][1]["interval"] == 300
    assert flows[1][1]["interval"] == 60
    cron = flows[2][1]["schedule"]
    assert cron.cron == "0 8 * * *" and cron.timezone == "UTC"
    off = config.model_copy(update={"digest": config.digest.model_copy(update={"enabled": False})})
    assert [settings["name"] for _, settings in scheduled_flows(off, "/etc/uproar.toml", 300)] == [
        "uproar-monitor",
        "uproar-escalate",
    ]
    with pytest.raises(ConfigError, match=r"digest\.timezone: unknown time zone"):
        parse_config({"digest": {"timezone": "Mars/Olympus"}})


def test_uproar_digest_sends_one_now(config: UproarConfig, tmp_path: Path) -> None:
    with LocalSlackServer(token="xoxb-now", channels=("brand-digest",)) as slack:
        path = tmp_path / "uproar.toml"
        path.write_text(
            f'[database]\nurl = "{config.database.url}"\n'
            f'[slack]\nenabled = true\nbase_url = "{slack.base_url}"\ntoken_env = "DIGEST_TOKEN"\n'
            '[digest]\nchannel = "#brand-digest"\nperiod = "3650d"\n',
            encoding="utf-8",
        )
        result = runner.invoke(
            app, ["digest", "--config", str(path)], env={"DIGEST_TOKEN": "xoxb-now"}
        )
        assert result.exit_code == 0, result.output
        assert "Digest sent to slack:#brand-digest with 4 charts" in result.output
        assert [m["channel_name"] for m in slack.messages] == ["brand-digest"]
        assert len(slack.files) == 4
        no_token = runner.invoke(app, ["digest", "--config", str(path)], env={"DIGEST_TOKEN": ""})
        assert no_token.exit_code == 2 and "DIGEST_TOKEN is not set" in no_token.output
        bad = runner.invoke(app, ["digest", "--config", str(path), "--since", "soon"])
        assert bad.exit_code == 2 and "cannot read 'soon'" in bad.output
