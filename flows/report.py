"""``uproar report``: the charts and a summary (Markdown and HTML) of a period, and the
short text the daily digest posts to Slack. Numbers come from :mod:`storage.history`;
texts of posts are masked there, and again here before they leave."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy.orm import Session

from flows.charts import (
    complaints_by_category_chart,
    deadline_hit_rate_chart,
    negative_share_chart,
    spike_days,
    time_to_claim_chart,
)
from storage.history import (
    Grouping,
    HistoryFilter,
    ReachFunction,
    busiest_hours,
    busiest_weekdays,
    complaints,
    deadline_hit_rate,
    mentions,
    repeat_rate,
    response_times,
    top_negative_posts,
)
from storage.history.complaints import complaint_frame
from storage.privacy import mask_personal_data

CHART_FILES = {
    "negative_share": "negative_share.png",
    "complaints_by_category": "complaints_by_category.png",
    "deadline_hit_rate": "deadline_hit_rate.png",
    "time_to_claim": "time_to_claim.png",
}
TOP_POSTS = 5


@dataclass
class Report:
    """What a period looked like; every number is defined in the README's history section."""

    since: datetime | None
    until: datetime
    watch: str | None
    totals: dict[str, float]
    complaints_by_priority: dict[str, int]
    repeat_rate: float
    times: pd.DataFrame
    hit_rates: dict[str, float]
    busiest_hour: int | None
    busiest_weekday: str | None
    spikes: list[pd.Timestamp]
    top_posts: pd.DataFrame
    charts: dict[str, Path] = field(default_factory=dict)


def build_report(
    session: Session, history: HistoryFilter, reach: ReachFunction, until: datetime, out: Path
) -> Report:
    """Compute the summary for ``history`` and write the four charts into ``out``."""
    total = mentions(session, history).iloc[0]
    daily = mentions(session, history, Grouping("day"))
    complaint_rows = complaint_frame(session, history)
    spikes_from_complaints = (
        pd.to_datetime(complaint_rows.loc[complaint_rows["kind"] == "spike", "opened_at"], utc=True)
        .dt.floor("D")
        .tolist()
    )
    spikes = spike_days(daily, spikes_from_complaints)
    by_priority = complaints(session, history, Grouping(dimensions=("priority",)))
    repeats = repeat_rate(session, history).iloc[0]
    hits = deadline_hit_rate(session, history)
    hours = busiest_hours(session, history)
    weekdays = busiest_weekdays(session, history)
    out.mkdir(parents=True, exist_ok=True)
    seconds_to_claim = (
        complaint_rows["claimed_at"] - complaint_rows["opened_at"]
    ).dt.total_seconds()
    charts = {
        "negative_share": negative_share_chart(daily, spikes, out / CHART_FILES["negative_share"]),
        "complaints_by_category": complaints_by_category_chart(
            complaints(session, history, Grouping(dimensions=("category",))),
            out / CHART_FILES["complaints_by_category"],
        ),
        "deadline_hit_rate": deadline_hit_rate_chart(
            deadline_hit_rate(session, history, Grouping(dimensions=("priority",))),
            out / CHART_FILES["deadline_hit_rate"],
        ),
        "time_to_claim": time_to_claim_chart(seconds_to_claim, out / CHART_FILES["time_to_claim"]),
    }
    return Report(
        since=history.since,
        until=history.until or until,
        watch=history.watch,
        totals={
            name: float(total[name])
            for name in ("mentions", "scored", "negatives", "negative_share", "mean_negativity")
        },
        complaints_by_priority={
            str(r.priority): int(r.complaints) for r in by_priority.itertuples()
        },
        repeat_rate=float(repeats["repeat_rate"]),
        times=response_times(session, history),
        hit_rates={str(r.deadline): float(r.hit_rate) for r in hits.itertuples()},
        busiest_hour=int(hours.loc[hours["mentions"].idxmax(), "hour"])
        if total["mentions"]
        else None,
        busiest_weekday=str(weekdays.loc[weekdays["mentions"].idxmax(), "weekday_name"])
        if total["mentions"]
        else None,
        spikes=spikes,
        top_posts=top_negative_posts(session, history, reach, limit=TOP_POSTS),
        charts=charts,
    )


def _pct(value: float) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value * 100:.1f}%"


def _duration(seconds: float) -> str:
    if seconds is None or math.isnan(seconds):
        return "n/a"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _period(report: Report) -> str:
    start = f"{report.since:%Y-%m-%d %H:%M}" if report.since else "the beginning"
    watch = f" for watch {report.watch}" if report.watch else ""
    return f"{start} to {report.until:%Y-%m-%d %H:%M} UTC{watch}"


def _excerpt(text: str, width: int = 120) -> str:
    flat = " ".join(mask_personal_data(text or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def summary_lines(report: Report) -> list[tuple[str, str]]:
    """(label, value) pairs shared by the Markdown, HTML and Slack summaries."""
    totals = report.totals
    priorities = ", ".join(f"{p} {n}" for p, n in sorted(report.complaints_by_priority.items()))
    times = {
        row.stage: f"p50 {_duration(row.p50_seconds)}, p90 {_duration(row.p90_seconds)}"
        for row in report.times.itertuples()
    }
    return [
        ("Mentions", f"{int(totals['mentions']):,} ({int(totals['scored']):,} scored)"),
        (
            "Negative share",
            f"{_pct(totals['negative_share'])} ({int(totals['negatives']):,} negative)",
        ),
        (
            "Mean negativity",
            "n/a" if math.isnan(totals["mean_negativity"]) else f"{totals['mean_negativity']:.3f}",
        ),
        (
            "Complaints",
            f"{sum(report.complaints_by_priority.values()):,}"
            + (f" ({priorities})" if priorities else ""),
        ),
        ("Repeat rate", _pct(report.repeat_rate)),
        ("Time to claim", times.get("claim", "n/a")),
        ("Time to first response", times.get("first_response", "n/a")),
        ("Time to resolution", times.get("resolution", "n/a")),
        (
            "Deadlines met",
            ", ".join(f"{name} {_pct(rate)}" for name, rate in report.hit_rates.items()) or "n/a",
        ),
        (
            "Busiest hour (UTC)",
            "n/a" if report.busiest_hour is None else f"{report.busiest_hour:02d}:00",
        ),
        ("Busiest weekday", report.busiest_weekday or "n/a"),
        ("Spike days", ", ".join(f"{day:%Y-%m-%d}" for day in report.spikes) or "none"),
    ]


def report_markdown(report: Report) -> str:
    lines = [f"# uproar report: {_period(report)}", "", "| measure | value |", "| --- | --- |"]
    lines += [f"| {label} | {value} |" for label, value in summary_lines(report)]
    lines += ["", f"## Top {TOP_POSTS} negative posts by reach", ""]
    if report.top_posts.empty:
        lines.append("None in this period.")
    for row in report.top_posts.itertuples():
        lines.append(
            f"1. **{int(row.reach):,}** reach, negativity {row.negativity:.2f}, {row.source}: "
            f"{_excerpt(row.text).replace('|', '/')}"
        )
    lines += ["", "## Charts", ""]
    lines += [f"![{name}]({path.name})" for name, path in report.charts.items()]
    return "\n".join(lines) + "\n"


def report_html(report: Report) -> str:
    e = html.escape
    rows = "".join(
        f"<tr><th>{e(label)}</th><td>{e(value)}</td></tr>" for label, value in summary_lines(report)
    )
    posts = (
        "".join(
            f"<li><b>{int(row.reach):,}</b> reach, negativity {row.negativity:.2f}, "
            f"{e(str(row.source))}: {e(_excerpt(row.text))}</li>"
            for row in report.top_posts.itertuples()
        )
        or "<li>None in this period.</li>"
    )
    images = "".join(
        f'<figure><img src="{e(path.name)}" alt="{e(name)}"></figure>'
        for name, path in report.charts.items()
    )
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        f"<title>uproar report</title></head><body><h1>uproar report: {e(_period(report))}</h1>"
        f"<table>{rows}</table><h2>Top {TOP_POSTS} negative posts by reach</h2><ol>{posts}</ol>"
        f"<h2>Charts</h2>{images}</body></html>\n"
    )


def digest_text(report: Report) -> str:
    """The Slack digest: one line per measure, plain text, personal data masked."""
    lines = [f"*uproar daily digest* — {_period(report)}"]
    lines += [f"• {label}: {value}" for label, value in summary_lines(report)]
    if not report.top_posts.empty:
        top = report.top_posts.iloc[0]
        lines.append(
            f"• Widest-reaching negative post ({int(top['reach']):,}): {_excerpt(top['text'], 200)}"
        )
    return mask_personal_data("\n".join(lines))


def write_report(
    session: Session, history: HistoryFilter, reach: ReachFunction, until: datetime, out: Path
) -> Report:
    """Charts plus ``summary.md`` and ``summary.html`` in ``out``."""
    report = build_report(session, history, reach, until, out)
    (out / "summary.md").write_text(report_markdown(report), encoding="utf-8")
    (out / "summary.html").write_text(report_html(report), encoding="utf-8")
    return report
