"""Report charts as PNG files, drawn with matplotlib's object API on the Agg canvas (no
pyplot, no display, safe in a scheduler's worker threads).

Each function takes the DataFrame a :mod:`storage.history` measure returned and a path,
and writes one chart; empty data still gives a readable "no data" chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

# A day is a spike when its negative share is this many robust standard deviations
# (median absolute deviation x 1.4826) above the period's median.
SPIKE_Z = 3.5
MAD_TO_SIGMA = 1.4826
DEADLINE_ORDER = ("ack", "response", "resolution")
COLOURS = {"ack": "#4C72B0", "response": "#DD8452", "resolution": "#55A868"}


def robust_z(values: pd.Series) -> pd.Series:
    """(value - median) / (1.4826 x MAD); 0 where the spread is 0 (a flat series)."""
    clean = values.astype("float64")
    median = clean.median()
    spread = MAD_TO_SIGMA * (clean - median).abs().median()
    if not spread or np.isnan(spread):
        return pd.Series(0.0, index=values.index)
    return (clean - median) / spread


def spike_days(
    daily: pd.DataFrame, spike_complaint_days: Sequence[pd.Timestamp] = ()
) -> list[pd.Timestamp]:
    """Days to mark: those with a spike complaint, and those whose negative share has a
    robust z of at least SPIKE_Z."""
    marked = set(pd.to_datetime(list(spike_complaint_days), utc=True))
    if len(daily):
        z = robust_z(daily["negative_share"].fillna(daily["negative_share"].median()))
        marked |= set(daily.loc[z >= SPIKE_Z, "day"])
    return sorted(marked)


def _figure(width: float = 8, height: float = 4) -> Figure:
    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    return path


def _no_data(title: str, path: Path) -> Path:
    figure = _figure()
    axes = figure.add_subplot()
    axes.set_title(title)
    axes.text(0.5, 0.5, "no data in this period", ha="center", va="center", fontsize=14)
    axes.set_axis_off()
    return _save(figure, path)


def negative_share_chart(daily: pd.DataFrame, spikes: Sequence[pd.Timestamp], path: Path) -> Path:
    """Daily negative share (line, left axis) over mentions (bars, right axis); spike days
    marked with red triangles."""
    title = "Negative share per day (UTC)"
    if daily.empty:
        return _no_data(title, path)
    days = pd.to_datetime(daily["day"], utc=True).dt.tz_localize(None)
    figure = _figure(10, 4.5)
    axes = figure.add_subplot()
    volume = axes.twinx()
    volume.bar(days, daily["mentions"], width=0.8, color="#cccccc", label="mentions")
    volume.set_ylabel("mentions")
    axes.set_zorder(volume.get_zorder() + 1)
    axes.patch.set_visible(False)
    axes.plot(
        days, daily["negative_share"] * 100, color="#C44E52", marker=".", label="negative share"
    )
    marked = daily[pd.to_datetime(daily["day"], utc=True).isin(list(spikes))]
    if len(marked):
        axes.scatter(
            pd.to_datetime(marked["day"], utc=True).dt.tz_localize(None),
            marked["negative_share"] * 100,
            marker="^",
            s=120,
            color="red",
            zorder=5,
            label="spike",
        )
    axes.set_ylabel("negative share (%)")
    axes.set_ylim(0, 100)
    axes.set_title(title)
    axes.legend(loc="upper left")
    figure.autofmt_xdate()
    return _save(figure, path)


def complaints_by_category_chart(by_category: pd.DataFrame, path: Path) -> Path:
    """Complaints per category, largest first (horizontal bars with counts)."""
    title = "Complaints by category"
    if by_category.empty or by_category["complaints"].sum() == 0:
        return _no_data(title, path)
    ordered = by_category.assign(category=by_category["category"].fillna("(none)")).sort_values(
        "complaints"
    )
    figure = _figure(8, max(3.0, 0.45 * len(ordered) + 1.2))
    axes = figure.add_subplot()
    bars = axes.barh(ordered["category"], ordered["complaints"], color="#4C72B0")
    axes.bar_label(bars, padding=3)
    axes.set_xlabel("complaints")
    axes.set_title(title)
    return _save(figure, path)


def deadline_hit_rate_chart(by_priority: pd.DataFrame, path: Path) -> Path:
    """Share of decided deadlines met, per priority and deadline (grouped bars, %)."""
    title = "Deadline hit rate by priority"
    decided = by_priority[by_priority["decided"] > 0] if len(by_priority) else by_priority
    if decided.empty:
        return _no_data(title, path)
    priorities = sorted(decided["priority"].dropna().unique())
    figure = _figure(8, 4)
    axes = figure.add_subplot()
    width = 0.8 / len(DEADLINE_ORDER)
    positions = np.arange(len(priorities))
    for index, deadline in enumerate(DEADLINE_ORDER):
        part = decided[decided["deadline"] == deadline].set_index("priority")
        heights = [float(part["hit_rate"].get(p, np.nan)) * 100 for p in priorities]
        bars = axes.bar(
            positions + index * width, heights, width, label=deadline, color=COLOURS[deadline]
        )
        axes.bar_label(bars, fmt="%.0f%%", padding=2, fontsize=8)
    axes.set_xticks(positions + width, priorities)
    axes.set_ylim(0, 110)
    axes.set_ylabel("deadlines met (%)")
    axes.set_title(title)
    axes.legend()
    return _save(figure, path)


def time_to_claim_chart(seconds: pd.Series, path: Path) -> Path:
    """Distribution of minutes from opening to claim (log-spaced bins), p50 and p90 lines."""
    title = "Time to claim"
    minutes = seconds.dropna().astype("float64") / 60
    if minutes.empty:
        return _no_data(title, path)
    figure = _figure(8, 4)
    axes = figure.add_subplot()
    low = max(float(minutes.min()), 0.1)
    high = max(float(minutes.max()), low * 1.01)
    bins = np.geomspace(low, high, 30)
    axes.hist(minutes.clip(lower=low), bins=bins.tolist(), color="#8172B2")
    axes.set_xscale("log")
    for quantile, style in ((0.5, "--"), (0.9, ":")):
        value = float(minutes.quantile(quantile))
        axes.axvline(
            value, color="black", linestyle=style, label=f"p{int(quantile * 100)} {value:.0f} min"
        )
    axes.set_xlabel("minutes from opening to claim (log scale)")
    axes.set_ylabel("complaints")
    axes.set_title(title)
    axes.legend()
    return _save(figure, path)
