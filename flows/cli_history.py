"""``uproar history``, ``uproar report`` and ``uproar digest``: the analysts' commands.

Each parses its arguments, checks them (unknown grouping, watch or source, a period in the
future or backwards: exit 2 with a message naming what is wrong) and calls
:mod:`storage.history`, :mod:`flows.report` or :mod:`flows.digest`.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from flows.cli_common import (
    ConfigOption,
    err_console,
    fail as _fail,
    load_or_exit as _load,
)
from flows.config import UproarConfig

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from storage.history import ExportFormat, HistoryFilter

history_app = typer.Typer()

WatchOption = Annotated[str | None, typer.Option(help="only posts and complaints of this watch")]
SourceOption = Annotated[
    list[str] | None, typer.Option("--source", help="only this source (repeatable)")
]
SinceOption = Annotated[
    str | None, typer.Option(help="from: 7d, 12h, today, 2026-11-01 or 2026-11-01T08:00 (UTC)")
]
UntilOption = Annotated[str | None, typer.Option(help="until (exclusive), same forms as --since")]


def _history_filter(
    loaded: UproarConfig,
    session: Session,
    watch: str | None,
    sources: list[str] | None,
    since: str | None,
    until: str | None,
    now: datetime,
) -> HistoryFilter:
    """The checked filter: watch and sources must be configured or seen in the database."""
    from storage.history import HistoryFilter, known_values, period
    from storage.models import Post

    if watch is not None:
        known = {w.name for w in loaded.watches}
        if watch not in known and watch not in (known := known | known_values(session, Post.watch)):
            raise _fail(
                f"unknown watch {watch!r}; known watches: {', '.join(sorted(known)) or 'none'}"
            )
    for source in sources or ():
        known = {s.name for s in loaded.sources}
        if source not in known and source not in (
            known := known | known_values(session, Post.source)
        ):
            raise _fail(
                f"unknown source {source!r}; known sources: {', '.join(sorted(known)) or 'none'}"
            )
    start, end = period(since, until, now)
    return HistoryFilter(
        watch=watch,
        sources=tuple(sources or ()),
        since=start,
        until=end,
        negativity_threshold=loaded.thresholds.negativity,
    )


@history_app.command()
def history(
    config: ConfigOption = None,
    watch: WatchOption = None,
    source: SourceOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    by: Annotated[
        list[str] | None,
        typer.Option(
            help="day|week|month and/or source|platform|watch|category|language|region|priority"
            " (repeatable)"
        ),
    ] = None,
    measure: Annotated[
        str, typer.Option(help="what to compute; `--measure list` shows every measure")
    ] = "mentions",
    output_format: Annotated[
        str, typer.Option("--format", help="table, csv, json (JSON lines) or parquet")
    ] = "table",
    out: Annotated[Path | None, typer.Option(help="write here instead of stdout")] = None,
    limit: Annotated[int, typer.Option(help="rows for top_negative_posts", min=1)] = 10,
) -> None:
    """Sentiment and complaint history: one measure, filtered and grouped."""
    from storage.history import EXPORT_FORMATS, MEASURES, HistoryError, run_measure, write_frames

    if measure == "list":
        for name, described in MEASURES.items():
            typer.echo(f"{name:20} {described.description}")
        return
    if output_format not in ("table", *EXPORT_FORMATS):
        raise _fail(f"unknown --format {output_format!r}; expected table, csv, json or parquet")
    if output_format == "parquet" and out is None:
        raise _fail("--format parquet writes a binary file: give --out FILE")
    loaded = _load(config)
    from alerts.reach import estimated_reach
    from storage.db import DatabaseError, database

    now = datetime.now(UTC)
    try:
        with database(loaded.database.url) as factory, factory() as session:
            history_filter = _history_filter(loaded, session, watch, source, since, until, now)
            frames = run_measure(
                measure, session, history_filter, by or [], reach=estimated_reach, limit=limit
            )
            if output_format == "table":
                _print_tables(frames, out)
                return
            fmt = cast("ExportFormat", output_format)
            rows = write_frames(frames, fmt, out if out is not None else sys.stdout)
    except HistoryError as exc:
        raise _fail(str(exc)) from None
    except DatabaseError as exc:
        raise _fail(str(exc)) from None
    if out is not None:
        err_console.print(f"{rows} rows written to {out}", highlight=False)


def _print_tables(frames: object, out: Path | None) -> None:
    import pandas as pd

    texts = []
    for frame in frames:  # type: ignore[attr-defined]
        assert isinstance(frame, pd.DataFrame)
        texts.append(
            frame.to_string(index=False, float_format=lambda v: f"{v:.4g}")
            if len(frame)
            else "(no rows)"
        )
    text = "\n".join(texts) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")


@history_app.command()
def report(
    config: ConfigOption = None,
    watch: WatchOption = None,
    source: SourceOption = None,
    since: SinceOption = "7d",
    until: UntilOption = None,
    out: Annotated[Path, typer.Option(help="folder for the charts and summary")] = Path("report"),
) -> None:
    """Charts (PNG) and a summary (summary.md, summary.html) of a period into --out."""
    from storage.history import HistoryError

    loaded = _load(config)
    from alerts.reach import estimated_reach
    from flows.report import write_report
    from storage.db import DatabaseError, database

    now = datetime.now(UTC)
    try:
        with database(loaded.database.url) as factory, factory() as session:
            history_filter = _history_filter(loaded, session, watch, source, since, until, now)
            written = write_report(session, history_filter, estimated_reach, now, out)
    except HistoryError as exc:
        raise _fail(str(exc)) from None
    except DatabaseError as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(f"{out}: cannot write the report: {exc.strerror}") from None
    names = ", ".join(path.name for path in written.charts.values())
    typer.echo(f"Report written to {out}: summary.md, summary.html, {names}")


@history_app.command()
def digest(
    config: ConfigOption = None,
    since: Annotated[
        str | None, typer.Option(help="how far back, e.g. 1d (default: [digest] period)")
    ] = None,
) -> None:
    """Send the daily digest (summary + charts) to Slack now, or print it when Slack is off."""
    from slack_sdk.errors import SlackApiError, SlackClientError

    from alerts.config import ConfigError as AlertsConfigError
    from storage.db import DatabaseError
    from storage.history import HistoryError, period

    loaded = _load(config)
    now = datetime.now(UTC)
    try:
        period(since or loaded.digest.period, None, now)
    except HistoryError as exc:
        raise _fail(str(exc)) from None
    from flows.digest import digest_now

    try:
        sent = digest_now(loaded, now, since)
    except (DatabaseError, AlertsConfigError) as exc:
        raise _fail(str(exc)) from None
    except (SlackApiError, SlackClientError, OSError) as exc:
        raise _fail(f"could not post the digest to Slack: {exc}") from None
    typer.echo(f"Digest sent to {sent.destination} with {sent.files} charts.")
