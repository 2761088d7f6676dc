"""Source health rules: is a source working, and when to raise or clear an operations alert.

Pure functions of values: what ``crawl_state`` says about a source's runs and when its
recent posts were published and fetched. No clock, no database; the flow
(:mod:`flows.health`) reads the rows, calls these and writes the result back.

A source is *broken* when it failed ``failures_before_alert`` runs in a row, or when it is
*silent*: its crawls bring in no new post for much longer than its usual gap between posts.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

HealthStatus = Literal["ok", "partial", "down", "silent", "never-run"]
Transition = Literal["broken", "recovered"]


class SourceHealthSettings(BaseModel):
    """When a source counts as broken (``[crawl.health]`` in uproar.toml)."""

    model_config = ConfigDict(extra="forbid")

    # A source whose crawl failed (read nothing, had errors) this many runs in a row.
    failures_before_alert: int = Field(default=3, ge=1)
    # Silent when no new post came in for this many times the usual gap between posts ...
    silence_factor: float = Field(default=5, ge=1)
    # ... and never sooner than this: a quiet night is not an outage.
    min_silence_hours: float = Field(default=24, gt=0)
    # How many of the source's newest posts the usual gap is measured on.
    gap_sample: int = Field(default=50, ge=2)
    # Too few posts to know the source's rhythm: such a source is never called silent.
    min_posts_for_silence: int = Field(default=5, ge=2)

    @property
    def min_silence(self) -> timedelta:
        return timedelta(hours=self.min_silence_hours)


@dataclass(frozen=True)
class RunState:
    """What ``crawl_state`` records about a source's runs (its ``watch = "*"`` row)."""

    last_run_at: datetime | None = None
    last_success_at: datetime | None = None
    consecutive_failures: int = 0
    last_error: str | None = None
    broken_alerted_at: datetime | None = None  # a "source broken" alert is out

    @property
    def last_outcome(self) -> Literal["ok", "partial", "down"] | None:
        """How the last run went, as :func:`crawlers.runner.record_crawl_state` left it:
        failures in a row mean it was down; an error kept after a success, partial."""
        if self.last_run_at is None:
            return None
        if self.consecutive_failures > 0:
            return "down"
        return "partial" if self.last_error else "ok"


@dataclass(frozen=True)
class PostTime:
    """When one stored post was published (if the platform said) and fetched."""

    published_at: datetime | None
    fetched_at: datetime

    @property
    def posted_at(self) -> datetime:
        """Publication time, never later than the fetch (clock skew, wrong zones); the
        fetch time when the platform gave none."""
        if self.published_at is None:
            return self.fetched_at
        return min(self.published_at, self.fetched_at)


@dataclass(frozen=True)
class SourceHealth:
    """One source's health: the verdict, a one-line reason, and the numbers behind it."""

    source: str
    status: HealthStatus
    reason: str
    broken: bool
    enabled: bool = True
    last_run_at: datetime | None = None
    last_success_at: datetime | None = None
    consecutive_failures: int = 0
    last_error: str | None = None
    broken_alerted_at: datetime | None = None
    newest_post_at: datetime | None = None  # newest publication time among recent posts
    last_new_post_at: datetime | None = None  # when the newest new post was fetched
    usual_gap: timedelta | None = None
    silent_for: timedelta | None = None  # last run minus last new post

    @property
    def alerted(self) -> bool:
        return self.broken_alerted_at is not None


def usual_gap(times: Iterable[datetime]) -> timedelta | None:
    """The median gap between consecutive post times (in time order).

    Posts with the same timestamp (date-only reviews, a feed without times falling back
    to one fetch time) are not a gap and are ignored; None when fewer than one real gap.
    """
    ordered = sorted(times)
    gaps = [later - earlier for earlier, later in pairwise(ordered)]
    positive = [gap for gap in gaps if gap > timedelta(0)]
    if not positive:
        return None
    return statistics.median_low(positive)


def silence_threshold(gap: timedelta, settings: SourceHealthSettings) -> timedelta:
    """How long without a new post makes a source with this usual gap silent."""
    return max(gap * settings.silence_factor, settings.min_silence)


def describe_duration(value: timedelta) -> str:
    """A short human duration: "45s", "12m", "3h 5m", "2d 4h"."""
    seconds = max(int(value.total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m"
    return f"{seconds}s"


def _failures(count: int) -> str:
    return f"{count} failed run{'s' if count != 1 else ''} in a row"


def assess_health(
    source: str,
    state: RunState | None,
    posts: Sequence[PostTime],
    settings: SourceHealthSettings,
    *,
    enabled: bool = True,
) -> SourceHealth:
    """The health of ``source`` from its run record and its recent posts.

    Status, most serious first: ``never-run`` (no run recorded), ``down`` (the last run
    read nothing and failed), ``silent`` (runs bring no new post for longer than
    :func:`silence_threshold`), ``partial`` (the last run worked but some pages or entries
    failed), ``ok``. *Broken* means an alert is due: ``failures_before_alert`` failed runs
    in a row, or silent. Silence is measured up to the last run, so a scheduler that
    stopped does not make its sources look silent; a disabled source is never broken.
    """
    state = state or RunState()
    outcome = state.last_outcome
    if outcome is None or state.last_run_at is None:
        return _health(source, enabled, state, "never-run", "never run", broken=False)

    gap = usual_gap(post.posted_at for post in posts)
    newest = max((post.posted_at for post in posts), default=None)
    last_new = max((post.fetched_at for post in posts), default=None)
    silent_for = max(state.last_run_at - last_new, timedelta(0)) if last_new else None

    silent = False
    if last_new is None or silent_for is None:
        silence = "no posts stored yet"
    elif gap is None or len(posts) < settings.min_posts_for_silence:
        silence = (
            f"last new post {describe_duration(silent_for)} before the last run "
            f"({len(posts)} recent posts, {settings.min_posts_for_silence} with distinct "
            "times needed to judge silence)"
        )
    else:
        threshold = silence_threshold(gap, settings)
        silent = enabled and silent_for > threshold
        silence = (
            f"no new post for {describe_duration(silent_for)} "
            f"(usual gap {describe_duration(gap)}, silent after {describe_duration(threshold)})"
        )

    failures = state.consecutive_failures
    failed_out = enabled and failures >= settings.failures_before_alert
    broken = failed_out or silent
    if outcome == "down":
        alert_at = f"alert at {settings.failures_before_alert}"
        reason = f"down: {_failures(failures)} ({alert_at}); {silence}"
        status: HealthStatus = "down"
    elif silent:
        reason = f"silent: {silence}"
        status = "silent"
    elif outcome == "partial":
        reason = f"partial: the last run read posts but some pages or entries failed; {silence}"
        status = "partial"
    else:
        reason = f"ok: {silence}"
        status = "ok"
    if not enabled:
        reason = f"disabled; {reason}"
    return _health(
        source,
        enabled,
        state,
        status,
        reason,
        broken=broken,
        newest_post_at=newest,
        last_new_post_at=last_new,
        gap=gap,
        silent_for=silent_for,
    )


def _health(
    source: str,
    enabled: bool,
    state: RunState,
    status: HealthStatus,
    reason: str,
    *,
    broken: bool,
    newest_post_at: datetime | None = None,
    last_new_post_at: datetime | None = None,
    gap: timedelta | None = None,
    silent_for: timedelta | None = None,
) -> SourceHealth:
    return SourceHealth(
        source=source,
        status=status,
        reason=reason,
        broken=broken,
        enabled=enabled,
        last_run_at=state.last_run_at,
        last_success_at=state.last_success_at,
        consecutive_failures=state.consecutive_failures,
        last_error=state.last_error,
        broken_alerted_at=state.broken_alerted_at,
        newest_post_at=newest_post_at,
        last_new_post_at=last_new_post_at,
        usual_gap=gap,
        silent_for=silent_for,
    )


def alert_transition(broken: bool, alerted: bool) -> Transition | None:
    """Which operations alert to raise: "broken" when a source breaks and none is out,
    "recovered" when it works again after one, otherwise nothing (one alert per episode)."""
    if broken and not alerted:
        return "broken"
    if alerted and not broken:
        return "recovered"
    return None
