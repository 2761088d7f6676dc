"""Readable terminal output for a monitoring pass and for complaint lists."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from flows.monitor import MonitorSummary


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
