"""Readable terminal output for a monitoring pass, complaint lists and source health."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from alerts.ops import first_line
from crawlers.health import SourceHealth, describe_duration
from storage.privacy import mask_personal_data

if TYPE_CHECKING:  # importing the flow would import Prefect, slow for a status command
    from flows.monitor import MonitorSummary

HEALTH_STYLES = {
    "ok": "green",
    "partial": "yellow",
    "down": "red",
    "silent": "red",
    "never-run": "dim",
}
LAST_ERROR_MIN_CELLS = 20


def excerpt(text: str, width: int) -> Text:
    """One line of ``text`` cut to ``width`` terminal cells (CJK characters take two)."""
    line = Text(" ".join(text.split()), no_wrap=True)
    line.truncate(max(width, 10), overflow="ellipsis")
    return line


def print_summary(summary: MonitorSummary, console: Console) -> None:
    """Posts fetched / new / known, scored, negative, complaints opened, alerts sent."""
    crawl_table = Table(title="Crawl", title_justify="left")
    for column in ("source", "fetched", "new", "already known", "skipped", "errors"):
        crawl_table.add_column(column, justify="left" if column == "source" else "right")
    for result in summary.crawls:
        crawl_table.add_row(
            result.source,
            str(result.fetched),
            str(result.new),
            str(result.known),
            str(result.skipped),
            str(len(result.errors)) if result.errors else "-",
        )
    console.print(crawl_table)
    console.print("skipped: fetched but about none of the watches.", style="dim")
    for result in summary.crawls:
        for error in result.errors:
            console.print(f"  [yellow]! {escape(result.source)}: {escape(error)}[/yellow]")

    for health in summary.broken_sources:
        console.print(
            f"  [red]! source broken: {escape(health.source)}: "
            f"{escape(mask_personal_data(health.reason))}[/red]"
        )

    if summary.scoring is not None:
        console.print(
            f"Scored {summary.scoring.scored} new posts with {summary.scoring.model}: "
            f"{summary.scoring.negative} negative."
        )

    if summary.opened:
        rows = [
            {
                "id": str(complaint.id),
                "priority": complaint.priority,
                "reach": f"{complaint.reach:,}",
                "negativity": f"{complaint.negativity:.0%}",
                "on duty": complaint.on_duty or "nobody",
                "post": complaint.excerpt,
            }
            for complaint in summary.opened
        ]
        console.print(complaints_table(rows, "Complaints opened", console.width))
    else:
        console.print("No new complaints opened.")
    if summary.grouped or summary.reach_grew or summary.raised:
        console.print(
            f"{summary.grouped} post(s) attached to existing complaints; "
            f"{summary.reach_grew} complaint(s) announced as growing in reach; "
            f"{summary.raised} complaint(s) raised in priority."
        )

    delivery = summary.delivery
    if delivery is not None and not (delivery.delivered or delivery.failed or delivery.pending):
        console.print("No alerts to send.")
    elif delivery is not None:
        where = ", ".join(delivery.destinations) or "nowhere"
        console.print(
            f"Alerts: {delivery.delivered} sent to {where}; "
            f"{delivery.failed} failed this run; {delivery.pending} still pending."
        )
        for error in delivery.errors:
            console.print(f"  [yellow]! {escape(error)}[/yellow]")

    if summary.nothing_new:
        known = sum(result.known for result in summary.crawls)
        console.print(
            f"[bold]Nothing new:[/bold] no new posts ({known} already known), "
            "no new complaints, no alerts sent."
        )


def complaints_table(rows: Sequence[dict[str, str]], title: str, width: int) -> Table:
    """Rows of short values plus a ``post`` excerpt cut to what ``width`` leaves for it."""
    table = Table(title=title, title_justify="left")
    columns = list(rows[0]) if rows else ["id", "status", "priority", "reach", "post"]
    fixed = sum(
        max([len(column), *(len(row[column]) for row in rows)]) + 3
        for column in columns
        if column != "post"
    )
    for column in columns:
        table.add_column(column, no_wrap=True)
    for row in rows:
        table.add_row(
            *(
                excerpt(row[column], width - fixed - 4) if column == "post" else row[column]
                for column in columns
            )
        )
    return table


def _time(value: datetime | None, missing: str = "-") -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else missing


def _error_line(health: SourceHealth) -> str:
    """The last error's first line, masked, without the "<source>: " the runner adds."""
    line = mask_personal_data(first_line(health.last_error))
    return line.removeprefix(f"{health.source}: ")


def sources_table(healths: Sequence[SourceHealth], types: Mapping[str, str], width: int) -> Table:
    """``uproar sources status``: one row per configured source (times in UTC); the last
    error's first line gets what ``width`` leaves."""
    rows: list[dict[str, str]] = []
    for health in healths:
        never = health.status == "never-run"
        status = health.status + (" (alerted)" if health.alerted else "")
        rows.append(
            {
                "source": health.source,
                "type": types.get(health.source, "?"),
                "enabled": "yes" if health.enabled else "no",
                "health": status,
                "last run": _time(health.last_run_at, "never run"),
                "last success": _time(health.last_success_at, "never run" if never else "never"),
                "fails in a row": str(health.consecutive_failures),
                "newest post": _time(health.newest_post_at),
                "usual gap": describe_duration(health.usual_gap) if health.usual_gap else "-",
                "last error": _error_line(health) or "-",
            }
        )
    columns = list(rows[0]) if rows else ["source", "health", "last error"]
    fixed = sum(
        max([len(column), *(len(row[column]) for row in rows)]) + 3
        for column in columns
        if column != "last error"
    )
    table = Table(title=f"{len(rows)} sources (times in UTC)", title_justify="left")
    for column in columns:
        table.add_column(column, no_wrap=True)
    for health, row in zip(healths, rows, strict=True):
        cells: list[str | Text] = list(row.values())
        cells[columns.index("health")] = Text(
            row["health"], style=HEALTH_STYLES.get(health.status, "")
        )
        cells[-1] = excerpt(row["last error"], max(width - fixed - 4, LAST_ERROR_MIN_CELLS))
        table.add_row(*cells)
    return table


def health_as_json(health: SourceHealth, source_type: str) -> dict[str, Any]:
    """One source's health as plain JSON values (``uproar sources status --json``)."""

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "source": health.source,
        "type": source_type,
        "enabled": health.enabled,
        "health": health.status,
        "broken": health.broken,
        "reason": mask_personal_data(health.reason),
        "last_run_at": iso(health.last_run_at),
        "last_success_at": iso(health.last_success_at),
        "consecutive_failures": health.consecutive_failures,
        "last_error": mask_personal_data(health.last_error) if health.last_error else None,
        "broken_alerted_at": iso(health.broken_alerted_at),
        "newest_post_at": iso(health.newest_post_at),
        "last_new_post_at": iso(health.last_new_post_at),
        "usual_gap_seconds": health.usual_gap.total_seconds() if health.usual_gap else None,
        "silent_for_seconds": health.silent_for.total_seconds() if health.silent_for else None,
    }
