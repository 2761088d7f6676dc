"""``uproar label`` and ``uproar sentiment …`` on real files and a real database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from flows.cli import app
from sentiment.registry import register_model
from storage.db import open_database, session_scope
from storage.models import Complaint, PostLabel, SentimentScore
from storage.posts import NewPost, save_posts
from storage.types import utcnow

runner = CliRunner()
SAMPLE = Path(__file__).parent / "data" / "sentiment_sample.jsonl"


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "uproar.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "cli.db"}"\n'
        f'[sentiment]\nmodels_dir = "{tmp_path / "models"}"\n',
        encoding="utf-8",
    )
    return path


def _post_and_complaint(tmp_path: Path) -> tuple[int, int]:
    _, factory = open_database(f"sqlite:///{tmp_path / 'cli.db'}")
    now = utcnow()
    with session_scope(factory) as session:
        save_posts(
            session,
            [
                NewPost("feed", "feed", "a", "Parcel two weeks late", published_at=now),
                NewPost("feed", "feed", "b", "Lovely duvet", published_at=now - timedelta(days=1)),
                NewPost("feed", "feed", "c", "Old news", published_at=now - timedelta(days=60)),
            ],
            now,
        )
        complaint = Complaint(
            post_id=2,
            priority="P2",
            reach=900,
            negativity=0.9,
            ack_due_at=now,
            response_due_at=now,
            resolution_due_at=now,
        )
        session.add(complaint)
        session.flush()
        return 1, complaint.id


def _labels(tmp_path: Path) -> list[tuple[int, str, str | None, str]]:
    _, factory = open_database(f"sqlite:///{tmp_path / 'cli.db'}")
    with session_scope(factory) as session:
        rows = session.execute(select(PostLabel).order_by(PostLabel.id)).scalars()
        return [(r.post_id, r.sentiment, r.category, r.labeller) for r in rows]


def test_label_a_post_and_a_complaints_post(tmp_path: Path) -> None:
    config = str(_config(tmp_path))
    post, complaint = _post_and_complaint(tmp_path)
    first = runner.invoke(
        app,
        [
            "label",
            str(post),
            "--sentiment",
            "negative",
            "--category",
            "logistics",
            "--as",
            "amira",
            "--config",
            config,
        ],
    )
    assert first.exit_code == 0, first.output
    assert "post 1 labelled negative / logistics by amira" in first.output
    second = runner.invoke(
        app,
        [
            "label",
            "--complaint",
            str(complaint),
            "--sentiment",
            "positive",
            "--as",
            "ben",
            "--config",
            config,
        ],
    )
    assert second.exit_code == 0, second.output
    assert _labels(tmp_path) == [
        (1, "negative", "logistics", "amira"),
        (2, "positive", None, "ben"),
    ]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["99", "--sentiment", "negative", "--as", "a"], "no post with id 99"),
        (["--complaint", "42", "--sentiment", "negative", "--as", "a"], "no complaint with id 42"),
        (["1", "--sentiment", "furious", "--as", "a"], "unknown sentiment 'furious'"),
        (["1", "--sentiment", "negative", "--category", "x", "--as", "a"], "logistics, product"),
        (["1", "--sentiment", "negative"], "--as NAME is required"),
        (["--sentiment", "negative", "--as", "a"], "give a POST_ID or --complaint ID"),
    ],
)
def test_label_errors_name_what_is_wrong(
    tmp_path: Path, arguments: list[str], message: str
) -> None:
    config = str(_config(tmp_path))
    _post_and_complaint(tmp_path)
    result = runner.invoke(app, ["label", *arguments, "--config", config])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert _labels(tmp_path) == []


def test_models_lists_the_registry_and_activate_switches(tmp_path: Path) -> None:
    config = str(_config(tmp_path))
    empty = runner.invoke(app, ["sentiment", "models", "--config", config])
    assert empty.exit_code == 0 and "committed default model" in empty.output
    folder = tmp_path / "models" / "v1"
    folder.mkdir(parents=True)
    _, factory = open_database(f"sqlite:///{tmp_path / 'cli.db'}")
    with session_scope(factory) as session:
        register_model(session, "v1", folder, "base", {"decision": {"accepted": False}}, utcnow())
    switched = runner.invoke(app, ["sentiment", "activate", "v1", "--config", config])
    assert switched.exit_code == 0, switched.output
    listed = runner.invoke(app, ["sentiment", "models", "--json", "--config", config])
    rows = json.loads(listed.stdout)
    assert [(r["version"], r["active"], r["accepted"]) for r in rows] == [("v1", True, False)]
    unknown = runner.invoke(app, ["sentiment", "activate", "v9", "--config", config])
    assert unknown.exit_code == 2 and "no registered sentiment model 'v9'" in unknown.output
    back = runner.invoke(app, ["sentiment", "activate", "default", "--config", config])
    assert back.exit_code == 0


@pytest.mark.parametrize(
    "command",
    [
        ["sentiment", "retrain"],
        ["sentiment", "eval"],
        ["sentiment", "train", "--out", "x"],
    ],
)
def test_missing_training_data_is_a_clear_error(tmp_path: Path, command: list[str]) -> None:
    missing = tmp_path / "no-data"
    result = runner.invoke(
        app, [*command, "--data", str(missing), "--config", str(_config(tmp_path))]
    )
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert str(missing) in text and "does not exist" in text and "--data" in text


def test_rescore_writes_one_score_per_post_and_version(tmp_path: Path) -> None:
    config = str(_config(tmp_path))
    _post_and_complaint(tmp_path)
    first = runner.invoke(app, ["sentiment", "rescore", "--since", "30d", "--config", config])
    assert first.exit_code == 0, first.output
    assert "2 posts since" in first.output
    again = runner.invoke(app, ["sentiment", "rescore", "--since", "30d", "--config", config])
    assert again.exit_code == 0 and "0 posts since" in again.output
    _, factory = open_database(f"sqlite:///{tmp_path / 'cli.db'}")
    with session_scope(factory) as session:
        rows = session.execute(select(SentimentScore.post_id, SentimentScore.model_version)).all()
    assert sorted(post for post, _ in rows) == [1, 2]
    assert all(version for _, version in rows)
    bad = runner.invoke(app, ["sentiment", "rescore", "--since", "soon", "--config", config])
    assert bad.exit_code == 2 and "--since" in bad.output


def test_eval_on_the_committed_sample_prints_json_with_vader(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "sentiment",
            "eval",
            "--sample",
            str(SAMPLE),
            "--limit",
            "20",
            "--json",
            "--config",
            str(_config(tmp_path)),
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [m["name"] for m in report["models"]] == ["model", "vader"]
    first = report["models"][0]["sets"][0]
    assert first["ece_max"] is not None and first["reliability_max"]["bins"]


def test_eval_prints_the_table_and_reliability(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "sentiment",
            "eval",
            "--sample",
            str(SAMPLE),
            "--limit",
            "10",
            "--config",
            str(_config(tmp_path)),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "vader" in result.output and "ECE" in result.output
    assert "top class" in result.output


def test_score_uses_the_active_model_and_says_when_its_folder_is_gone(tmp_path: Path) -> None:
    config = str(_config(tmp_path))
    gone = tmp_path / "models" / "gone"
    gone.mkdir(parents=True)
    _, factory = open_database(f"sqlite:///{tmp_path / 'cli.db'}")
    with session_scope(factory) as session:
        register_model(session, "gone-1", gone, None, {}, datetime.now(UTC))
    assert (
        runner.invoke(app, ["sentiment", "activate", "gone-1", "--config", config]).exit_code == 0
    )
    gone.rmdir()
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": 1, "text": "awful"}\n', encoding="utf-8")
    result = runner.invoke(app, ["sentiment", "score", "--in", str(source), "--config", config])
    assert result.exit_code == 2
    assert "gone-1" in result.output and "uproar sentiment activate default" in result.output


DATA = next(
    (
        p / "shared" / "data"
        for p in Path(__file__).resolve().parents
        if (p / "shared" / "data").is_dir()
    ),
    None,
)


@pytest.mark.slow
@pytest.mark.timeout(1200)
@pytest.mark.skipif(DATA is None, reason="the shared training data is not beside the checkout")
def test_train_smoke_writes_a_model_the_cli_can_score_with(tmp_path: Path) -> None:
    out = tmp_path / "smoke-model"
    # Options after --smoke go on to python -m sentiment.train: the float32 torch runtime
    # here (no ONNX export), two threads.
    smaller = ["--runtime", "torch", "--threads", "2"]
    result = runner.invoke(
        app, ["sentiment", "train", "--data", str(DATA), "--out", str(out), "--smoke", *smaller]
    )
    assert result.exit_code == 0, result.output
    spec = json.loads((out / "model.json").read_text(encoding="utf-8"))
    assert spec["training"]["smoke"] is True
    config = tmp_path / "uproar.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "cli.db"}"\n'
        f'[sentiment]\nmodel = "{out}"\nruntime = "torch"\n',
        encoding="utf-8",
    )
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": 1, "text": "awful"}\n', encoding="utf-8")
    scored = runner.invoke(
        app, ["sentiment", "score", "--in", str(source), "--config", str(config)]
    )
    assert scored.exit_code == 0, scored.output
    assert json.loads(scored.stdout.splitlines()[0])["model"] == spec["version"]


@pytest.mark.slow
@pytest.mark.skipif(DATA is None, reason="the shared training data is not beside the checkout")
def test_retrain_end_to_end_on_a_tiny_sample(tmp_path: Path) -> None:
    config = str(_config(tmp_path))
    _post_and_complaint(tmp_path)
    label = ["label", "1", "--sentiment", "negative", "--category", "logistics", "--as", "a"]
    labelled = runner.invoke(app, [*label, "--config", config])
    assert labelled.exit_code == 0, labelled.output
    tiny = ["--en-sample", "120", "--zh-sample", "25", "--validation-limit", "80"]
    result = runner.invoke(
        app, ["sentiment", "retrain", "--data", str(DATA), *tiny, "--json", "--config", config]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["corrections"] == {"en": 1, "zh": 0}
    assert {c["name"] for c in payload["comparisons"]} == {"tweeteval_val", "zh_val"}
    assert payload["activated"] is payload["decision"]["accepted"]
    assert (tmp_path / "models" / payload["version"] / "model.json").is_file()
    assert list((tmp_path / "models" / "cache").glob("*.npy"))
    listed = json.loads(
        runner.invoke(app, ["sentiment", "models", "--json", "--config", config]).stdout
    )
    assert [(m["version"], m["active"]) for m in listed] == [
        (payload["version"], payload["activated"])
    ]
