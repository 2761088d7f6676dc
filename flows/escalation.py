"""The ``escalate`` flow: every minute, write the escalation actions that are due into the
outbox, then deliver the outbox.

Running it twice in the same minute, or again after a crash, sends nothing twice: see
:mod:`alerts.escalation_pass`. The flow only composes tasks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from alerts.escalation_pass import EscalationReport, escalate_complaints
from alerts.outbox import DeliveryReport
from alerts.rota_changes import load_rota
from flows import delivery
from flows.config import UproarConfig, load_config
from storage.db import database
from storage.types import utcnow

ESCALATION_INTERVAL_SECONDS = 60


@dataclass
class EscalationSummary:
    """What one escalation pass wrote and what the outbox then delivered."""

    escalation: EscalationReport
    delivery: DeliveryReport | None = None


@task(name="escalate-complaints", cache_policy=NO_CACHE)
def escalate_due(config: UproarConfig, now: datetime) -> EscalationReport:
    """Write every escalation, reminder and missed deadline due at ``now``."""
    with database(config.database.url, upgrade_schema=False) as factory:
        with factory() as session:
            rota = load_rota(session, config.rota, since=now)  # config + stored changes
        report = escalate_complaints(
            factory, config.escalation, rota, now, channel=config.slack.channel
        )
    logger = get_run_logger()
    for error in report.errors:
        logger.warning("%s", error)
    return report


@task(name="deliver-escalations", cache_policy=NO_CACHE)
def deliver_outbox(config: UproarConfig, now: datetime) -> DeliveryReport:
    """Send what the outbox holds, as the monitor flow does (this module does not import
    flows.monitor: it would load the sentiment model's libraries every minute)."""
    return delivery.deliver_outbox(config, now)


@flow(name="escalate")
def escalate(config_path: str, now: datetime | None = None) -> EscalationSummary:
    """One escalation pass over every live complaint in ``config_path``'s database."""
    config = load_config(config_path)
    moment = now or utcnow()
    with database(config.database.url):
        pass  # upgrade the schema once, before the tasks read it
    summary = EscalationSummary(escalation=escalate_due(config, moment))
    summary.delivery = deliver_outbox(config, moment)
    return summary
