"""What every ``uproar`` sub-command shares: the consoles, the ``--config`` option, and the
one way a command fails (a red ``error:`` line naming what is wrong, exit code 2)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from flows.config import ConfigError, UproarConfig, load_config

# Piped output gets room for whole tables rather than rich's 80-column default.
PIPED_WIDTH = 160
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else PIPED_WIDTH)
err_console = Console(stderr=True, soft_wrap=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="uproar.toml to use (default: $UPROAR_CONFIG or ./uproar.toml)"
    ),
]


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``error: message`` on stderr; the caller raises what this returns."""
    err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    return typer.Exit(code)


def load_or_exit(config: Path | None) -> UproarConfig:
    """The validated config, or exit 2 with the message naming the file and the key."""
    try:
        return load_config(config)
    except ConfigError as exc:
        raise fail(str(exc)) from None


def utc_now() -> datetime:
    return datetime.now(UTC)
