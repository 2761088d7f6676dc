"""Exports that read back equal, and ``uproar history`` on a real database and config."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from flows.cli import app
from storage.db import open_database, session_scope
from storage.history import HistoryFilter, iter_complaints, iter_posts, write_frames
from tests.history_data import build_history

runner = CliRunner()


def _plain(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for record in frame.to_dict(orient="records"):
        clean = {}
        for key, value in record.items():
            if isinstance(value, pd.Timestamp):
                value = value.isoformat()
            elif (
                value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))
            ):
                value = None
            elif isinstance(value, float) and value.is_integer() and key not in ("negativity",):
                value = int(value)
            elif isinstance(value, str) and key == "posted_at":
                value = pd.Timestamp(value).isoformat()
            clean[key] = value
        out.append(clean)
    return out


def _read(fmt: str, path: Path) -> pd.DataFrame:
    if fmt == "parquet":
        return pd.read_parquet(path)
    if fmt == "csv":
        return pd.read_csv(path, parse_dates=["posted_at"], dtype={"text": str})
    return pd.read_json(
        path, lines=True, convert_dates=["posted_at"], dtype=False, precise_float=True
    )


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_post_exports_stream_in_chunks_and_read_back_equal(
    session_factory: sessionmaker[Session], tmp_path: Path, fmt: str
) -> None:
    with session_scope(session_factory) as session:
        build_history(session)
    with session_factory() as session:
        chunks = list(iter_posts(session, HistoryFilter(), chunk_size=2))
        path = tmp_path / f"posts.{fmt}"
        written = write_frames(iter_posts(session, HistoryFilter(), chunk_size=2), fmt, path)  # type: ignore[arg-type]
    assert [len(chunk) for chunk in chunks] == [2, 2, 2, 1]
    assert written == 7
    original = pd.concat(chunks, ignore_index=True)
    back = _read(fmt, path)
    assert list(back.columns) == list(original.columns)
    assert _plain(back) == _plain(original)
    if fmt == "parquet":
        assert pq.ParquetFile(path).num_row_groups == 4


def test_complaint_export_round_trips_through_parquet(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    with session_scope(session_factory) as session:
        build_history(session)
    with session_factory() as session:
        original = pd.concat(list(iter_complaints(session, HistoryFilter(), chunk_size=3)))
        write_frames(
            iter_complaints(session, HistoryFilter(), chunk_size=3),
            "parquet",
            tmp_path / "c.parquet",
        )
    back = pd.read_parquet(tmp_path / "c.parquet")
    assert _plain(back) == _plain(original.reset_index(drop=True))


@pytest.fixture
def configured(tmp_path: Path) -> Path:
    url = f"sqlite:///{tmp_path / 'history.db'}"
    _, factory = open_database(url)
    with session_scope(factory) as session:
        build_history(session)
    config = tmp_path / "uproar.toml"
    config.write_text(
        f'[database]\nurl = "{url}"\n[[watches]]\nname = "larkspur"\nquery = "larkspur"\n',
        encoding="utf-8",
    )
    return config


def test_history_prints_a_table_and_writes_every_format(configured: Path, tmp_path: Path) -> None:
    base = ["history", "--config", str(configured), "--watch", "larkspur", "--since", "2026-10-01"]
    table = runner.invoke(app, [*base, "--by", "week", "--by", "source"])
    assert table.exit_code == 0, table.output
    assert "2026-11-02" in table.output and "reddit" in table.output
    as_json = runner.invoke(
        app, [*base, "--measure", "complaints", "--by", "priority", "--format", "json"]
    )
    assert as_json.exit_code == 0, as_json.output
    lines = [json.loads(line) for line in as_json.stdout.splitlines() if line.strip()]
    assert lines == [{"priority": "P1", "complaints": 3}, {"priority": "P2", "complaints": 1}]
    out = tmp_path / "times.parquet"
    parquet = runner.invoke(
        app, [*base, "--measure", "response_times", "--format", "parquet", "--out", str(out)]
    )
    assert parquet.exit_code == 0, parquet.output
    assert list(pd.read_parquet(out)["p50_seconds"]) == [900.0, 1800.0, 5400.0]
    csv_out = tmp_path / "top.csv"
    top = runner.invoke(
        app,
        [
            *base,
            "--measure",
            "top_negative_posts",
            "--limit",
            "1",
            "--format",
            "csv",
            "--out",
            str(csv_out),
        ],
    )
    assert top.exit_code == 0, top.output
    assert list(pd.read_csv(csv_out)["reach"]) == [5000]
    listed = runner.invoke(app, ["history", "--measure", "list"])
    assert "deadline_hit_rate" in listed.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--by", "fortnight"], "unknown grouping 'fortnight'"),
        (["--since", "2999-01-01"], "is in the future"),
        (["--watch", "acme"], "unknown watch 'acme'; known watches: larkspur"),
        (["--source", "tiktok"], "unknown source 'tiktok'"),
        (["--since", "2026-11-05", "--until", "2026-11-01"], "must be before --until"),
        (["--since", "last tuesday"], "cannot read 'last tuesday' as a time"),
        (["--measure", "vibes"], "unknown measure 'vibes'"),
        (["--format", "xlsx"], "unknown --format 'xlsx'"),
        (["--format", "parquet"], "give --out FILE"),
        (["--measure", "mentions", "--by", "priority"], "applies to complaint measures only"),
    ],
)
def test_history_bad_arguments_exit_2_with_a_clear_message(
    configured: Path, arguments: list[str], message: str
) -> None:
    result = runner.invoke(app, ["history", "--config", str(configured), *arguments])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
