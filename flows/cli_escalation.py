"""``uproar escalate``: one escalation pass now (``uproar serve`` runs it every minute)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from flows.config import ConfigError, UproarConfig, load_config, resolve_config_path
from flows.environment import prepare_environment

escalate_app = typer.Typer(
    help="Escalate unclaimed complaints, remind owners, flag missed deadlines.",
    pretty_exceptions_enable=False,
)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


@escalate_app.callback(invoke_without_command=True)
def escalate_now(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="uproar.toml to use (default: $UPROAR_CONFIG or ./uproar.toml)"
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="only show what is due; write and send nothing")
    ] = False,
) -> None:
    """Run one escalation pass now: write what is due, deliver the outbox."""
    prepare_environment()
    try:
        loaded = load_config(config)
    except ConfigError as exc:
        err_console.print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    if dry_run:
        _preview(loaded)
        return
    from flows.escalation import escalate

    summary = escalate(str(resolve_config_path(config)))
    report = summary.escalation
    console.print(
        f"Escalation: {report.checked} live complaints, {len(report.written)} notifications "
        f"written, {report.already_sent} already sent before.",
        highlight=False,
    )
    for key in report.written:
        console.print(f"  {key}", markup=False, highlight=False)
    for error in report.errors:
        err_console.print(f"  ! {error}", markup=False, highlight=False)
    delivery = summary.delivery
    if delivery is not None:
        console.print(
            f"Outbox: {delivery.delivered} delivered, {delivery.failed} failed, "
            f"{delivery.pending} pending.",
            highlight=False,
        )
        for error in delivery.errors:
            err_console.print(f"  ! {error}", markup=False, highlight=False)


def _preview(config: UproarConfig) -> None:
    from alerts.escalation_pass import pending_actions
    from alerts.rota_changes import load_rota
    from storage.db import database
    from storage.types import utcnow

    now = utcnow()
    with database(config.database.url) as factory:
        with factory() as session:
            rota = load_rota(session, config.rota, since=now)
        actions = pending_actions(factory, config.escalation, rota, now)
    if not actions:
        console.print("Nothing is due.")
        return
    console.print(f"{len(actions)} notifications are due (dry run: nothing written):")
    for action in actions:
        console.print(
            f"  {action.key} -> {action.mention or 'nobody'}: {action.text}",
            markup=False,
            highlight=False,
        )
