"""One triage run: attach and open post complaints, detect spikes, re-estimate reach,
re-judge priority.

The order matters: posts first (a viral post is its own complaint, and its copies join
it), then spikes (which take the hour's remaining negative posts), then the reach of
every complaint still being handled, and last their priority, which reads the reach and
growth just measured (:mod:`alerts.priority_raise`). Nothing here commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from alerts.complaints import PostTriage, triage_posts
from alerts.config import (
    DEFAULT_CHANNEL,
    DeadlineSettings,
    GroupingSettings,
    ReachGrowthSettings,
    RepeatSettings,
    RotaSettings,
    SpikeSettings,
    ThresholdSettings,
    TriageSettings,
)
from alerts.priority_raise import raise_priorities
from alerts.reach_growth import active_complaints, check_reach_of
from alerts.spike_complaints import SpikeReport, detect_spikes
from storage.models import Complaint


@dataclass(frozen=True)
class TriageRunSettings:
    """Every setting a triage run reads, as uproar.toml composes them."""

    thresholds: ThresholdSettings = field(default_factory=ThresholdSettings)
    triage: TriageSettings = field(default_factory=TriageSettings)
    deadlines: DeadlineSettings = field(default_factory=DeadlineSettings)
    rota: RotaSettings = field(default_factory=RotaSettings)
    grouping: GroupingSettings = field(default_factory=GroupingSettings)
    repeats: RepeatSettings = field(default_factory=RepeatSettings)
    spikes: SpikeSettings = field(default_factory=SpikeSettings)
    reach_growth: ReachGrowthSettings = field(default_factory=ReachGrowthSettings)
    channel: str = DEFAULT_CHANNEL


@dataclass
class TriageReport:
    """What one run did: complaints opened (post and spike), posts grouped, complaints
    reopened by new activity, complaints whose reach grew enough to announce, and those
    whose priority was raised."""

    posts: PostTriage
    spikes: SpikeReport
    reach_grew: list[Complaint]
    raised: list[Complaint] = field(default_factory=list)

    @property
    def opened(self) -> list[Complaint]:
        return [*self.posts.opened, *self.spikes.opened]


def run_triage(
    session: Session,
    settings: TriageRunSettings,
    now: datetime,
    model_version: str | None = None,
) -> TriageReport:
    """One triage run at ``now`` (module docstring)."""
    posts = triage_posts(
        session,
        settings.thresholds,
        settings.deadlines,
        settings.rota,
        now,
        model_version,
        channel=settings.channel,
        grouping=settings.grouping,
        repeats=settings.repeats,
        reach_growth=settings.reach_growth,
        triage=settings.triage,
    )
    spikes = detect_spikes(
        session,
        settings.spikes,
        settings.thresholds,
        settings.deadlines,
        settings.rota,
        now,
        channel=settings.channel,
    )
    to_check = {complaint.id: complaint for complaint in active_complaints(session)}
    to_check.update({complaint.id: complaint for complaint in spikes.extended})
    grew = check_reach_of(
        session,
        to_check.values(),
        now,
        settings.reach_growth,
        settings.rota,
        channel=settings.channel,
    )
    raised = raise_priorities(
        session,
        to_check.values(),
        now,
        settings.thresholds,
        settings.triage,
        settings.deadlines,
        settings.rota,
    )
    return TriageReport(
        posts=posts, spikes=spikes, reach_grew=[*posts.reach_grew, *grew], raised=raised
    )
