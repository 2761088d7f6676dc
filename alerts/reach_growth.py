"""Re-estimating the reach of complaints still being handled, on every triage run.

A complaint's reach is the sum of its posts' reach (:func:`alerts.grouping.group_reach`):
engagement counters grow, amplifications are recorded, grouped posts attach. Each check
stores ``reach``, the smoothed ``reach_growth_per_hour`` (:mod:`alerts.growth`) and
``reach_checked_at``; when reach reaches ``ReachGrowthSettings.factor`` times the reach
last announced (``reach_notified``), a ``reach_grew`` event goes to the complaint's
thread, so escalation can re-notify. Checking twice at the same ``now`` changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.complaint_events import SYSTEM_ACTOR, record_event, slack_mention
from alerts.complaint_states import STILL_HANDLED
from alerts.config import DEFAULT_CHANNEL, ReachGrowthSettings, RotaSettings
from alerts.grouping import group_reach
from alerts.growth import has_grown, smoothed_growth
from storage.models import Complaint


def active_complaints(session: Session) -> list[Complaint]:
    """Complaints still being handled (reach matters until they are closed)."""
    query = select(Complaint).where(Complaint.status.in_(STILL_HANDLED)).order_by(Complaint.id)
    return list(session.execute(query).scalars())


def check_reach(
    session: Session,
    complaint: Complaint,
    now: datetime,
    settings: ReachGrowthSettings,
    rota: RotaSettings,
    *,
    channel: str = DEFAULT_CHANNEL,
) -> bool:
    """Re-estimate one complaint's reach and growth; True when it emitted ``reach_grew``."""
    reach = group_reach(session, complaint)
    since = complaint.reach_checked_at or complaint.opened_at
    hours = (now - since).total_seconds() / 3600
    if hours > 0:
        complaint.reach_growth_per_hour = smoothed_growth(
            complaint.reach_growth_per_hour,
            complaint.reach,
            reach,
            hours,
            settings.smoothing.total_seconds() / 3600,
        )
        complaint.reach_checked_at = now
    if reach != complaint.reach:
        complaint.reach = reach
        complaint.updated_at = now
    if complaint.reach_notified is None:
        complaint.reach_notified = complaint.reach
        return False
    if complaint.status not in STILL_HANDLED:
        return False  # closed: its reach is kept current, nobody is paged
    if not has_grown(reach, complaint.reach_notified, settings.factor):
        return False
    before = complaint.reach_notified
    growth = complaint.reach_growth_per_hour
    record_event(
        session,
        complaint,
        "reach_grew",
        SYSTEM_ACTOR,
        now,
        {
            "reach_before": before,
            "reach": reach,
            "reach_growth_per_hour": round(growth, 1) if growth is not None else None,
            "factor": settings.factor,
        },
        f"Complaint #{complaint.id}: reach grew from ~{before:,} to ~{reach:,} people"
        + (f" (~{growth:,.0f}/h)" if growth else ""),
        mention=slack_mention(rota, complaint),
        channel=channel,
    )
    complaint.reach_notified = reach
    return True


def check_reach_of(
    session: Session,
    complaints: Iterable[Complaint],
    now: datetime,
    settings: ReachGrowthSettings,
    rota: RotaSettings,
    *,
    channel: str = DEFAULT_CHANNEL,
) -> list[Complaint]:
    """:func:`check_reach` for each complaint; those that emitted ``reach_grew``."""
    grew = []
    for complaint in complaints:
        if check_reach(session, complaint, now, settings, rota, channel=channel):
            grew.append(complaint)
    session.flush()
    return grew
