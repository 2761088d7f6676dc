"""Re-judging the priority of complaints still being handled, after their reach is
re-estimated on a triage run (:mod:`alerts.priority_change` has the rules).

A raise writes a ``priority_raised`` event (actor ``uproar``) with the old and new
priority, the score and the reasons, replies in the alert's thread mentioning the owner
(or the responder on duty), and tightens the undecided deadlines. The alert itself shows
the new priority on the next delivery (``chat.update``, :mod:`alerts.slack_threads`), and
escalation follows the new priority's policy from then on. Spike complaints keep the
priority their spike's size gave them. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from alerts.complaint_events import SYSTEM_ACTOR, record_event, slack_mention
from alerts.complaint_states import STILL_HANDLED
from alerts.config import DeadlineSettings, RotaSettings, ThresholdSettings, TriageSettings
from alerts.priority import PriorityAssessment, assess_priority
from alerts.priority_change import DueDates, is_raise, raised_deadlines
from storage.models import Complaint

RAISED_EVENT = "priority_raised"


def assess_complaint(
    complaint: Complaint, thresholds: ThresholdSettings, triage: TriageSettings
) -> PriorityAssessment:
    """The priority the formula gives the complaint as it stands now."""
    return assess_priority(
        negativity=complaint.negativity,
        reach=complaint.reach,
        growth_per_hour=complaint.reach_growth_per_hour or 0.0,
        followers=complaint.post.author_followers,
        category=complaint.category,
        repeat=complaint.repeat_of_id is not None,
        thresholds=thresholds,
        settings=triage,
    )


def raise_priority(
    session: Session,
    complaint: Complaint,
    now: datetime,
    thresholds: ThresholdSettings,
    triage: TriageSettings,
    deadlines: DeadlineSettings,
    rota: RotaSettings,
) -> bool:
    """Raise one complaint's priority when the formula now says more urgent; True when
    it did. Running it again at once changes nothing (the priority already matches)."""
    if complaint.kind != "post" or complaint.status not in STILL_HANDLED:
        return False
    assessed = assess_complaint(complaint, thresholds, triage)
    if not is_raise(complaint.priority, assessed.priority):
        return False
    before = complaint.priority
    due = raised_deadlines(
        DueDates(
            ack=complaint.ack_due_at,
            response=complaint.response_due_at,
            resolution=complaint.resolution_due_at,
            ack_decided=complaint.ack_met is not None,
            response_decided=complaint.response_met is not None,
            resolution_decided=complaint.resolution_met is not None,
        ),
        assessed.priority,
        now,
        deadlines,
        complaint.category,
    )
    complaint.priority = assessed.priority
    complaint.ack_due_at = due.ack
    complaint.response_due_at = due.response
    complaint.resolution_due_at = due.resolution
    complaint.updated_at = now
    growth = complaint.reach_growth_per_hour
    record_event(
        session,
        complaint,
        RAISED_EVENT,
        SYSTEM_ACTOR,
        now,
        {
            "priority_before": before,
            "priority": assessed.priority,
            "priority_score": assessed.score,
            "priority_reasons": list(assessed.reasons),
            "reach": complaint.reach,
            "reach_growth_per_hour": round(growth, 1) if growth is not None else None,
            "ack_due_at": due.ack.isoformat(),
            "response_due_at": due.response.isoformat(),
            "resolution_due_at": due.resolution.isoformat(),
        },
        f"Complaint #{complaint.id} raised from {before} to {assessed.priority}: "
        + "; ".join(assessed.reasons),
        mention=slack_mention(rota, complaint),
    )
    return True


def raise_priorities(
    session: Session,
    complaints: Iterable[Complaint],
    now: datetime,
    thresholds: ThresholdSettings,
    triage: TriageSettings,
    deadlines: DeadlineSettings,
    rota: RotaSettings,
) -> list[Complaint]:
    """:func:`raise_priority` for each complaint; those raised."""
    raised = [
        complaint
        for complaint in complaints
        if raise_priority(session, complaint, now, thresholds, triage, deadlines, rota)
    ]
    session.flush()
    return raised
