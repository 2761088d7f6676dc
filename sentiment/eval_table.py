"""``uproar sentiment eval`` as tables: a row per (set, model), optionally reliability tables."""

from __future__ import annotations

from rich import box
from rich.console import Console, JustifyMethod
from rich.table import Table

from sentiment.evaluate import EvalReport, SetResult
from sentiment.reliability import Reliability

# Speeds are in the JSON (texts_per_second); make bench measures them properly.
WIDTH = 100  # the table needs about 90 columns; narrower consoles would cut numbers
COLUMNS = ("model", "n", "score", "decision", "neg P", "neg R", "neg F1", "ECE max", "ECE neg")


def _number(value: float | None, percent: bool = True) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.1f}" if percent else f"{value:.3f}"


def summary_table(report: EvalReport) -> Table:
    """Headline score, the negative decision and calibration for every model on every set."""
    table = Table(
        title=f"Sentiment evaluation: {report.source}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=0,
        show_edge=False,
    )
    table.add_column("set", no_wrap=True)
    for column in COLUMNS:
        justify: JustifyMethod = "left" if column == "model" else "right"
        table.add_column(f" {column}", justify=justify, no_wrap=True, min_width=len(column) + 1)
    for set_name in report.sets:
        for model in report.models:
            table.add_row(*_row(model.set(set_name), model.name))
        table.add_section()
    return table


def _row(result: SetResult, model: str) -> list[str]:
    """One table row; every cell after the first starts with the space between columns."""
    cells = [model, str(result.n)]
    if result.skipped:
        cells += ["n/a", *["-"] * 6]
    else:
        cells += [
            f"[bold]{_number(result.score)}[/bold]",
            _number(result.decision_accuracy),
            _number(result.negative_precision),
            _number(result.negative_recall),
            _number(result.negative_f1),
            _number(result.ece_max),
            _number(result.ece_negative),
        ]
    return [result.name, *(f" {cell}" for cell in cells)]


def notes(report: EvalReport) -> list[str]:
    """What the table's columns mean, which model is which, and what was skipped."""
    lines = [f"{model.name}: {model.version}" for model in report.models]
    lines += [
        f"{model.name} on {result.name}: skipped, {result.skipped}"
        for model in report.models
        for result in model.sets
        if result.skipped
    ]
    return [
        *lines,
        "score: macro-recall on 3-class sets; on binary sets two-way accuracy "
        "(negative when P(negative) > P(positive)).",
        "decision: accuracy of 'is it negative?' with the model's own label rule; neg P/R/F1 "
        "likewise. ECE in points (15 bins; binary sets on two-way probabilities).",
    ]


def reliability_table(title: str, reliability: Reliability) -> Table:
    """The non-empty bins: range, count, mean confidence, how often the event happened."""
    table = Table(title=f"{title}: ECE {100 * reliability.ece:.1f}", title_justify="left")
    for column in ("bin", "count", "mean confidence", "accuracy"):
        table.add_column(column, justify="right")
    for row in reliability.bins:
        if row.count:
            table.add_row(
                f"({row.lower:.3f}, {row.upper:.3f}]",
                str(row.count),
                _number(row.mean_confidence, percent=False),
                _number(row.accuracy, percent=False),
            )
    return table


def print_report(
    report: EvalReport, console: Console | None = None, reliability: bool = False
) -> None:
    console = console or Console(width=max(Console().width, WIDTH))
    console.print(summary_table(report))
    for line in notes(report):
        console.print(line, highlight=False, markup=False)
    if not reliability:
        return
    for model in report.models:
        for result in model.sets:
            for kind, table in (
                ("top class", result.reliability_max),
                ("negative", result.reliability_negative),
            ):
                if table is not None:
                    console.print(
                        reliability_table(f"{result.name} · {model.name} · {kind}", table)
                    )
