"""The ``uproar`` command line. Each command parses its arguments and calls a library
function; nothing here holds logic of its own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from flows.cli_common import (
    ConfigOption,
    console,
    fail as _fail,
    load_or_exit as _load,
)
from flows.cli_complaints import complaints_app
from flows.cli_escalation import escalate_app
from flows.cli_history import history_app
from flows.cli_labels import label
from flows.cli_rota import rota_app
from flows.cli_sentiment import sentiment_app
from flows.config import resolve_config_path
from flows.environment import prepare_environment

app = typer.Typer(
    help="uproar: monitor posts and reviews, score sentiment, open complaints, alert the rota.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Check the configuration file.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
sources_app = typer.Typer(help="Look at the configured sources.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(complaints_app, name="complaints")
app.add_typer(db_app, name="db")
app.add_typer(sentiment_app, name="sentiment")
app.add_typer(sources_app, name="sources")
app.add_typer(escalate_app, name="escalate")
app.add_typer(rota_app, name="rota")
app.command("label")(label)
app.add_typer(history_app)  # history, report, digest


@app.command()
def demo(
    state_dir: Annotated[
        Path, typer.Option(help="where the demo keeps its database and config")
    ] = Path(".uproar/demo"),
) -> None:
    """Run one full monitoring pass on the bundled sample sources."""
    prepare_environment(prefect_home=state_dir.parent / "prefect", quiet=True)
    from flows.demo import run_demo

    run_demo(console, state_dir)


@app.command()
def run(config: ConfigOption = None) -> None:
    """Run one monitoring pass now."""
    prepare_environment()
    _load(config)
    from flows.monitor import monitor
    from flows.summary import print_summary

    summary = monitor(str(resolve_config_path(config)))
    print_summary(summary, console)


@app.command()
def serve(
    config: ConfigOption = None,
    interval: Annotated[int, typer.Option(help="seconds between monitoring passes")] = 300,
    prefect_port: Annotated[
        int, typer.Option(help="port for the Prefect server started when PREFECT_API_URL is unset")
    ] = 4200,
    slack_port: Annotated[
        int | None,
        typer.Option(help="Slack buttons endpoint port (default: slack.actions_port)"),
    ] = None,
) -> None:
    """Run the monitor flow on a schedule, the escalation flow every minute, and the Slack
    buttons endpoint beside them.

    Uses the Prefect server at $PREFECT_API_URL, or starts one on 127.0.0.1 for as long as
    this command runs (Prefect's ephemeral mode cannot schedule).
    """
    prepare_environment()
    loaded = _load(config)
    from flows.prefect_server import PrefectServerError, prefect_server
    from flows.slack_server import slack_actions

    config_path = str(resolve_config_path(config).resolve())

    def say(line: str) -> None:
        console.print(line, highlight=False, markup=False)

    try:
        with (
            slack_actions(loaded, slack_port, say),
            prefect_server(prefect_port) as api_url,
        ):
            console.print(f"Prefect API: {api_url}; monitoring every {interval} s. Ctrl-C stops.")
            from flows.schedule import serve_flows

            # the monitor every `interval`, the escalate flow every minute and the daily
            # digest; none overlaps itself (a pass that overruns delays the next)
            serve_flows(loaded, config_path, interval)
    except (PrefectServerError, OSError) as exc:
        raise _fail(str(exc)) from None


@config_app.command("check")
def config_check(config: ConfigOption = None) -> None:
    """Validate the config file and say what it sets up."""
    loaded = _load(config)
    path = resolve_config_path(config)
    slack = (
        f"Slack channel {loaded.slack.channel} (token from ${loaded.slack.token_env})"
        if loaded.slack.enabled
        else "Slack off: alerts print to the console"
    )
    console.print(
        f"{path}: OK — {len(loaded.watches)} watches, "
        f"{len(loaded.enabled_sources())}/{len(loaded.sources)} sources enabled, "
        f"{len(loaded.rota.responders)} responders; {slack}; database {loaded.database.url}",
        highlight=False,
    )


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Create or upgrade the database schema."""
    loaded = _load(config)
    from storage.db import DatabaseError, make_engine, upgrade

    try:
        upgrade(make_engine(loaded.database.url))
    except DatabaseError as exc:
        raise _fail(str(exc)) from None
    console.print(f"Database at {loaded.database.url} is up to date.", highlight=False)


@sources_app.command("status")
def sources_status(
    config: ConfigOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="one JSON object per source, in a list")
    ] = False,
) -> None:
    """Each configured source's health: last run, failures in a row, newest post, errors."""
    loaded = _load(config)
    from flows.health import source_health
    from flows.summary import health_as_json, sources_table
    from storage.db import DatabaseError, database

    try:
        with database(loaded.database.url) as factory:
            healths = source_health(factory, loaded)
    except DatabaseError as exc:
        raise _fail(str(exc)) from None
    types = {source.name: source.type for source in loaded.sources}
    if as_json:
        rows = [health_as_json(health, types[health.source]) for health in healths]
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not healths:
        console.print("No sources configured: add [[sources]] to the config file.")
        return
    console.print(sources_table(healths, types, width=console.width))
    for health in healths:
        if health.broken:
            console.print(
                f"[red]! {escape(health.source)}: {escape(health.reason)}[/red]", highlight=False
            )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
