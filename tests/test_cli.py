"""The uproar command line: each command on real files and a real database."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect
from typer.testing import CliRunner

from alerts.complaints import open_complaints
from alerts.config import DeadlineSettings, RotaSettings, ThresholdSettings
from flows.cli import app
from storage.db import make_engine, open_database, session_scope
from storage.models import SentimentScore
from storage.posts import NewPost, save_post

runner = CliRunner()
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "uproar.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "cli.db"}"\n'
        '[[watches]]\nname = "acme"\nquery = "acme"\n',
        encoding="utf-8",
    )
    return path


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    config = _config(tmp_path)
    result = runner.invoke(app, ["db", "upgrade", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output
    tables = inspect(make_engine(f"sqlite:///{tmp_path / 'cli.db'}")).get_table_names()
    assert "complaints" in tables


def test_complaints_list_shows_open_complaints_with_personal_data_masked(tmp_path: Path) -> None:
    config = _config(tmp_path)
    _, factory = open_database(f"sqlite:///{tmp_path / 'cli.db'}")
    with session_scope(factory) as session:
        save_post(
            session,
            NewPost(
                source="news",
                platform="feed",
                external_id="1",
                text="Acme lost my parcel, call me on +44 7700 900123",
                author_followers=50_000,
                watch="acme",
            ),
            NOW,
        )
    with session_scope(factory) as session:
        session.add(
            SentimentScore(
                post_id=1,
                model_version="m",
                negative=0.9,
                neutral=0.05,
                positive=0.05,
                label="negative",
            )
        )
    with session_scope(factory) as session:
        opened = open_complaints(
            session, ThresholdSettings(), DeadlineSettings(), RotaSettings(), NOW
        )
        assert len(opened) == 1

    result = runner.invoke(
        app, ["complaints", "list", "--config", str(config)], env={"COLUMNS": "200"}
    )

    assert result.exit_code == 0, result.output
    assert "P1" in result.output or "P2" in result.output
    assert "Acme lost my parcel" in result.output
    assert "7700 900123" not in result.output
    empty = runner.invoke(
        app, ["complaints", "list", "--config", str(config), "--status", "resolved"]
    )
    assert "No complaints with status resolved" in empty.output


def test_sentiment_score_reads_json_lines_and_reports_bad_ones(tmp_path: Path) -> None:
    lines = "\n".join(
        [
            json.dumps({"id": "a", "text": "Three weeks and my parcel still hasn't arrived."}),
            "this is not json",
            "",
            json.dumps({"id": 7, "text": "Lovely quality, fast delivery, thank you!"}),
        ]
    )
    source = tmp_path / "in.jsonl"
    source.write_text(lines, encoding="utf-8")
    result = runner.invoke(
        app, ["sentiment", "score", "--in", str(source), "--config", str(_config(tmp_path))]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert [row.get("id") for row in rows] == ["a", None, 7]
    assert rows[0]["label"] == "negative" and rows[2]["label"] == "positive"
    for row in (rows[0], rows[2]):
        assert set(row) >= {"id", "negative", "neutral", "positive", "label", "model"}
        assert row["negative"] + row["neutral"] + row["positive"] == pytest.approx(1, abs=1e-3)
    assert rows[1]["line"] == 2 and "error" in rows[1]


def test_run_with_a_bad_config_names_the_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "uproar.toml"
    config.write_text("[thresholds]\nreach = 'many'\n", encoding="utf-8")
    result = runner.invoke(app, ["run", "--config", str(config)])
    assert result.exit_code == 2
    assert str(config) in result.output and "thresholds.reach" in result.output


def test_missing_input_file_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "sentiment",
            "score",
            "--in",
            str(tmp_path / "nope.jsonl"),
            "--config",
            str(_config(tmp_path)),
        ],
    )
    assert result.exit_code == 2
    assert "nope.jsonl" in result.output


def test_errors_are_printed_verbatim_not_as_terminal_markup(tmp_path: Path) -> None:
    config = tmp_path / "uproar.toml"
    config.write_text('[thresholds]\nreach = "[bold]lots"\n', encoding="utf-8")
    result = runner.invoke(app, ["config", "check", "--config", str(config)])
    assert result.exit_code == 2
    assert "thresholds.reach" in result.output
    assert "'[bold]lots'" in result.output
