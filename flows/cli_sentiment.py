"""``uproar sentiment …``: score, evaluate, train, retrain with corrections, rescore.

Each command parses its arguments and calls the sentiment package; the active model comes
from the registry (:func:`sentiment.registry.active_model_setting`) whenever
``[sentiment] model = "default"``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from flows.cli_common import (
    ConfigOption,
    console,
    err_console,
    fail,
    load_or_exit,
)
from flows.config import UproarConfig, resolve_config_path
from flows.environment import prepare_environment

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from sentiment.config import SentimentSettings

sentiment_app = typer.Typer(
    help="The sentiment model: score, evaluate, train, retrain with corrections, rescore.",
    no_args_is_help=True,
)

DEFAULT_DATA = Path("../shared/data")  # the labelled data layout of SOURCES.md

DataOption = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help=f"the labelled data folder (en/, zh/; see SOURCES.md); default {DEFAULT_DATA}",
    ),
]


def _optional_config(config: Path | None) -> UproarConfig | None:
    """The config when one is named or ./uproar.toml exists; None means the defaults."""
    path = resolve_config_path(config)
    if config is not None or path.exists():
        return load_or_exit(path)
    return None


@contextmanager
def database_or_exit(url: str) -> Iterator[sessionmaker[Session]]:
    from storage.db import DatabaseError, database

    try:
        with database(url) as factory:
            yield factory
    except DatabaseError as exc:
        raise fail(str(exc)) from None


def _resolved_settings(loaded: UproarConfig | None) -> SentimentSettings:
    """The configured sentiment settings with "default" resolved to the active version."""
    from sentiment.config import SentimentSettings
    from sentiment.errors import ModelError
    from sentiment.registry import active_model_setting
    from storage.db import session_scope

    if loaded is None:
        return SentimentSettings()
    with database_or_exit(loaded.database.url) as factory, session_scope(factory) as session:
        try:
            return active_model_setting(session, loaded.sentiment)
        except ModelError as exc:
            raise fail(str(exc)) from None


def _load_model(settings: SentimentSettings) -> Any:
    from sentiment.errors import ModelError
    from sentiment.model import load_model

    try:
        return load_model(settings)
    except ModelError as exc:
        raise fail(f"cannot load the sentiment model: {exc}") from None


def _data_folder(data: Path | None) -> Path:
    folder = data if data is not None else DEFAULT_DATA
    if not folder.is_dir():
        raise fail(
            f"the labelled sentiment data folder {folder} ({folder.resolve()}) does not exist; "
            "pass --data PATH: a folder holding en/ and zh/ as described in its SOURCES.md"
        )
    return folder


@sentiment_app.command("score")
def sentiment_score(
    config: ConfigOption = None,
    input_file: Annotated[
        Path | None, typer.Option("--in", help="JSON lines file (default: stdin)")
    ] = None,
) -> None:
    """Score JSON lines {"id": ..., "text": ...}; write one JSON line per input."""
    prepare_environment()
    from sentiment.jsonl import score_jsonl

    settings = _resolved_settings(_optional_config(config))
    if input_file is not None and not input_file.is_file():
        raise fail(f"{input_file}: no such file")
    model = _load_model(settings)
    if input_file is None:
        score_jsonl(sys.stdin, sys.stdout, model, settings.batch_size)
        return
    try:
        with input_file.open(encoding="utf-8") as lines:
            score_jsonl(lines, sys.stdout, model, settings.batch_size)
    except OSError as exc:
        raise fail(f"{input_file}: cannot read: {exc.strerror}") from None


@sentiment_app.command("eval")
def sentiment_eval(
    config: ConfigOption = None,
    data: DataOption = None,
    sample: Annotated[
        Path | None, typer.Option(help="a JSON-lines sample (set, lang, label, text) instead")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="score at most N texts per set")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    reliability: Annotated[bool, typer.Option(help="also print reliability tables")] = True,
    baseline: Annotated[bool, typer.Option(help="score VADER beside the model")] = True,
) -> None:
    """Measure the active model beside VADER: scores, the negative decision, ECE, reliability.

    Sets: TweetEval val, SST-2 dev and the Chinese held-out split (or --sample FILE).
    """
    prepare_environment()
    from sentiment.errors import ModelError
    from sentiment.eval_table import print_report
    from sentiment.evaluate import DataError, run_evaluation

    if data is not None and sample is not None:
        raise fail("give --data or --sample, not both")
    folder = None if sample is not None else _data_folder(data)
    settings = _resolved_settings(_optional_config(config))
    try:
        report = run_evaluation(settings, folder, sample, limit, baseline)
    except (DataError, ModelError) as exc:
        raise fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        print_report(report, reliability=reliability)


@sentiment_app.command(
    "train", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
)
def sentiment_train(
    ctx: typer.Context,
    data: Annotated[Path, typer.Option(help="the labelled data folder (en/, zh/)")],
    out: Annotated[Path, typer.Option(help="folder to write the model to")],
    smoke: Annotated[
        bool, typer.Option(help="a tiny run (a few hundred examples) that only proves the recipe")
    ] = False,
) -> None:
    """Train a sentiment model folder from scratch (python -m sentiment.train).

    Extra options are passed on to it (see python -m sentiment.train --help).
    """
    prepare_environment()
    from sentiment.train import main as train_main

    folder = _data_folder(data)
    argv = ["--data", str(folder), "--out", str(out)]
    if smoke:
        argv += ["--smoke"]
    train_main([*argv, *ctx.args])
    console.print(
        f'model written to {out}; use it with [sentiment] model = "{out}"',
        highlight=False,
        markup=False,
    )


@sentiment_app.command("retrain")
def sentiment_retrain(
    config: ConfigOption = None,
    data: DataOption = None,
    en_sample: Annotated[int, typer.Option(help="SemEval tweets sampled for the en head")] = 8000,
    zh_sample: Annotated[
        int, typer.Option(help="Chinese reviews sampled per source for the zh head")
    ] = 1500,
    validation_limit: Annotated[
        int | None, typer.Option(help="at most N texts per validation set (default: all)")
    ] = None,
    correction_weight: Annotated[
        float | None, typer.Option(help="how many training examples one correction counts as")
    ] = None,
    max_drop: Annotated[
        float | None, typer.Option(help="largest real validation drop tolerated")
    ] = None,
    seed: Annotated[int, typer.Option(help="sampling seed")] = 13,
    cache: Annotated[
        Path | None, typer.Option(help="embedding cache folder (default: <models dir>/cache)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Refit the heads with the human labels; activate only if validation did not get worse.

    The encoder stays frozen; see README "Correcting the sentiment model" for the rule.
    """
    prepare_environment()
    from sentiment.errors import ModelError
    from sentiment.eval_sets import DataError
    from sentiment.model import load_model
    from sentiment.registry import models_dir
    from sentiment.retrain import RetrainError, RetrainOptions
    from sentiment.retrain_data import Sizes, check_retrain_data
    from sentiment.retrain_run import run_retrain
    from storage.types import utcnow

    loaded = load_or_exit(config)
    folder = _data_folder(data)
    try:
        check_retrain_data(folder)
    except DataError as exc:
        raise fail(str(exc)) from None
    settings = loaded.sentiment
    directory = models_dir(settings, loaded.database.url)
    options = RetrainOptions(
        data=folder,
        models_dir=directory,
        cache_dir=cache or directory / "cache",
        sizes=Sizes(en_sample, zh_sample, validation_limit, seed),
        correction_weight=correction_weight or settings.correction_weight,
        max_drop=settings.retrain_max_drop if max_drop is None else max_drop,
    )

    def say(message: str) -> None:
        err_console.print(message, highlight=False, markup=False)

    with database_or_exit(loaded.database.url) as factory:
        try:
            result = run_retrain(factory, settings, options, utcnow(), load_model, say)
        except (DataError, ModelError, RetrainError) as exc:
            raise fail(str(exc)) from None
    if as_json:
        payload = {"version": result.version, "parent": result.parent, **result.metrics()}
        payload["activated"] = result.activated
        typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    _print_retrain(result)


def _print_retrain(result: Any) -> None:
    table = Table(title=f"{result.parent} → {result.version}", title_justify="left")
    for column in ("set", "before", "after", "change", "95% bound", "worse?"):
        table.add_column(column, justify="left" if column == "set" else "right")
    for c in result.comparisons:
        table.add_row(
            c.name,
            f"{c.before:.4f}",
            f"{c.after:.4f}",
            f"{c.difference:+.4f}",
            f"{c.upper:+.4f}",
            "yes" if c.worse else "no",
        )
    console.print(table)
    for key in ("sst2_dev_accuracy", "tweeteval_val_ece_max", "zh_val_ece_max"):
        if key in result.before and key in result.after:
            console.print(f"{key}: {result.before[key]:.4f} -> {result.after[key]:.4f} (report)")
    console.print(f"corrections used: {result.corrections}", highlight=False)
    for line in result.skipped:
        console.print(f"skipped {line}", highlight=False, markup=False)
    if result.unchanged:
        console.print("The refit is identical to the current model: nothing to activate.")
    elif result.activated:
        console.print(f"[green]Activated {result.version}[/green]: {escape(result.reason)}")
    else:
        console.print(
            f"[yellow]Not activated[/yellow] ({escape(result.version)} kept in "
            f"{escape(str(result.folder))}): {escape(result.reason)}"
        )


@sentiment_app.command("rescore")
def sentiment_rescore(
    config: ConfigOption = None,
    since: Annotated[str, typer.Option(help="posts from this far back, e.g. 30d, 12h")] = "30d",
    watch: Annotated[str | None, typer.Option(help="only posts of this watch")] = None,
) -> None:
    """Score stored posts of a period with the active model, with a progress bar.

    One score row per post and model version: a rerun writes nothing twice, old scores stay.
    """
    prepare_environment()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from alerts.config import parse_duration
    from sentiment.store import score_unscored_posts
    from storage.db import session_scope
    from storage.posts import count_posts_without_score
    from storage.types import utcnow

    try:
        window = parse_duration(since)
    except ValueError as exc:
        raise fail(f"--since: {exc}") from None
    loaded = load_or_exit(config)
    settings = _resolved_settings(loaded)
    model = _load_model(settings)
    start = utcnow() - window
    with database_or_exit(loaded.database.url) as factory:
        with session_scope(factory) as session:
            total = count_posts_without_score(session, model.version, start, watch)
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err_console,
        ) as progress:
            task = progress.add_task(f"rescoring with {model.version}", total=total)
            written = score_unscored_posts(
                factory,
                model,
                batch_size=settings.batch_size,
                limit=total,
                since=start,
                watch=watch,
                progress=lambda done: progress.advance(task, done),
            )
    console.print(
        f"{written} posts since {start:%Y-%m-%d %H:%M} UTC scored with {model.version}"
        f" ({total - written} already had a score from it or were scored meanwhile).",
        highlight=False,
    )


@sentiment_app.command("models")
def sentiment_models(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """The registered (retrained) model versions; the active one is marked."""
    from sentiment.registry import list_models
    from storage.db import session_scope

    loaded = load_or_exit(config)
    with database_or_exit(loaded.database.url) as factory, session_scope(factory) as session:
        rows = [
            {
                "version": m.version,
                "active": m.active,
                "parent": m.parent_version,
                "created_at": m.created_at.isoformat(),
                "folder": m.folder,
                "accepted": (m.metrics or {}).get("decision", {}).get("accepted"),
            }
            for m in list_models(session)
        ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not any(row["active"] for row in rows):
        console.print("Active: the committed default model (no retrained version is active).")
    table = Table(title=f"{len(rows)} retrained models", title_justify="left")
    for column in ("version", "active", "parent", "created (UTC)", "passed validation"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["version"],
            "*" if row["active"] else "",
            row["parent"] or "",
            row["created_at"][:16],
            {True: "yes", False: "no", None: "-"}[row["accepted"]],
        )
    console.print(table)


@sentiment_app.command("activate")
def sentiment_activate(
    version: Annotated[str, typer.Argument(help="a registered version, or 'default'")],
    config: ConfigOption = None,
) -> None:
    """Make a registered version the active model (or go back to the default one)."""
    from sentiment.errors import ModelError
    from sentiment.registry import activate
    from storage.db import session_scope

    loaded = load_or_exit(config)
    with database_or_exit(loaded.database.url) as factory, session_scope(factory) as session:
        try:
            activate(session, version)
        except ModelError as exc:
            raise fail(str(exc)) from None
    console.print(f"Active sentiment model: {version}", highlight=False)
