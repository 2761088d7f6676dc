"""The ``monitor`` flow: crawl enabled sources in parallel, score new posts, triage, deliver.

The flow only composes tasks; each task calls one package's library function, so the
logic stays testable without Prefect.
"""

from dataclasses import dataclass, field
from datetime import datetime

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from alerts.config import RotaSettings
from alerts.outbox import DeliveryReport
from alerts.rota_changes import load_rota
from alerts.triage_run import TriageRunSettings, run_triage
from crawlers.health import SourceHealth
from crawlers.runner import CrawlResult, run_crawl
from flows import delivery
from flows.config import UproarConfig, load_config
from flows.health import check_source_health
from sentiment.model import load_model
from sentiment.registry import active_model_setting
from sentiment.store import score_unscored_posts
from storage.db import database, session_scope
from storage.models import SentimentScore
from storage.privacy import mask_personal_data
from storage.types import utcnow


@dataclass(frozen=True)
class OpenedComplaint:
    """What the summary shows of a complaint this run opened."""

    id: int
    priority: str
    reach: int
    negativity: float
    on_duty: str | None
    excerpt: str
    kind: str = "post"
    repeat_of_id: int | None = None


@dataclass(frozen=True)
class TriageSummary:
    """What the triage step did besides opening complaints."""

    opened: list[OpenedComplaint] = field(default_factory=list)
    grouped: int = 0
    reopened: int = 0
    reach_grew: int = 0
    raised: int = 0


@dataclass(frozen=True)
class ScoringReport:
    scored: int
    negative: int
    model: str


@dataclass
class MonitorSummary:
    """Everything one monitoring pass did, for the CLI and the demo to print."""

    crawls: list[CrawlResult] = field(default_factory=list)
    scoring: ScoringReport | None = None
    opened: list[OpenedComplaint] = field(default_factory=list)
    grouped: int = 0
    reach_grew: int = 0
    raised: int = 0
    delivery: DeliveryReport | None = None
    health: list[SourceHealth] = field(default_factory=list)

    @property
    def broken_sources(self) -> list[SourceHealth]:
        return [health for health in self.health if health.broken]

    @property
    def new_posts(self) -> int:
        return sum(result.new for result in self.crawls)

    @property
    def nothing_new(self) -> bool:
        delivered = self.delivery.delivered if self.delivery else 0
        return self.new_posts == 0 and not self.opened and delivered == 0


@task(name="crawl-source", cache_policy=NO_CACHE)
def crawl_source(config: UproarConfig, source_name: str) -> CrawlResult:
    """Crawl one source in its own process (Scrapy's reactor cannot restart in-process)."""
    source = next(s for s in config.sources if s.name == source_name)
    result = run_crawl(source, config.watches, config.crawl, config.database.url)
    logger = get_run_logger()
    for error in result.errors:
        logger.warning("%s: %s", source_name, mask_personal_data(error))
    return result


@task(name="check-source-health", cache_policy=NO_CACHE)
def check_sources(config: UproarConfig, now: datetime) -> list[SourceHealth]:
    """Record each source's health; queue "source broken" / "recovered" alerts."""
    with database(config.database.url, upgrade_schema=False) as factory:
        checked = check_source_health(factory, config, now)
    logger = get_run_logger()
    for health in checked:
        if health.broken:
            logger.warning("source broken: %s: %s", health.source, health.reason)
    return checked


@task(name="score-new-posts", cache_policy=NO_CACHE)
def score_new_posts(config: UproarConfig) -> ScoringReport:
    """Score every post the active model (see sentiment.registry) has not scored yet."""
    started = utcnow()
    with database(config.database.url, upgrade_schema=False) as factory:
        with session_scope(factory) as session:
            settings = active_model_setting(session, config.sentiment)
        model = load_model(settings)
        scored = score_unscored_posts(factory, model, batch_size=config.sentiment.batch_size)
        with session_scope(factory) as session:
            negative = (
                session.query(SentimentScore)
                .filter(
                    SentimentScore.model_version == model.version,
                    SentimentScore.label == "negative",
                    SentimentScore.scored_at >= started,
                )
                .count()
            )
    return ScoringReport(scored=scored, negative=negative, model=model.version)


def triage_settings(config: UproarConfig, rota: RotaSettings | None = None) -> TriageRunSettings:
    """The settings a triage run reads, from uproar.toml (``rota``: the effective rota)."""
    return TriageRunSettings(
        thresholds=config.thresholds,
        triage=config.triage,
        deadlines=config.deadlines,
        rota=rota or config.rota,
        grouping=config.grouping,
        repeats=config.repeats,
        spikes=config.spikes,
        reach_growth=config.reach_growth,
        channel=config.slack.channel,
    )


@task(name="open-complaints", cache_policy=NO_CACHE)
def open_new_complaints(config: UproarConfig, now: datetime) -> TriageSummary:
    """Turn negative, spreading posts into complaints with an owner on duty and deadlines;
    attach copies of a story to its complaint; open spikes; re-estimate reach and raise
    the priority of complaints that now warrant it."""
    with (
        database(config.database.url, upgrade_schema=False) as factory,
        session_scope(factory) as session,
    ):
        # the effective rota: config plus the overrides and swaps stored from the CLI
        rota = load_rota(session, config.rota, since=now)
        report = run_triage(session, triage_settings(config, rota), now)
        opened = [
            OpenedComplaint(
                id=complaint.id,
                priority=complaint.priority,
                reach=complaint.reach,
                negativity=complaint.negativity,
                on_duty=complaint.on_duty,
                excerpt=mask_personal_data(complaint.post.text)[:90],
                kind=complaint.kind,
                repeat_of_id=complaint.repeat_of_id,
            )
            for complaint in report.opened
        ]
        return TriageSummary(
            opened=opened,
            grouped=len(report.posts.grouped) + len(report.spikes.extended),
            reopened=len(report.posts.reopened) + len(report.spikes.reopened),
            reach_grew=len(report.reach_grew),
            raised=len(report.raised),
        )


@task(name="deliver-notifications", cache_policy=NO_CACHE)
def deliver_notifications(config: UproarConfig, now: datetime) -> DeliveryReport:
    """Send what the outbox holds; failures stay pending for the next run."""
    return delivery.deliver_outbox(config, now)


@flow(name="monitor")
def monitor(config_path: str, now: datetime | None = None) -> MonitorSummary:
    """One monitoring pass over every enabled source in ``config_path``."""
    config = load_config(config_path)
    moment = now or utcnow()
    with database(config.database.url):
        pass  # upgrade the schema once, before the crawlers write
    futures = [crawl_source.submit(config, source.name) for source in config.enabled_sources()]
    summary = MonitorSummary(crawls=[future.result() for future in futures])
    summary.health = check_sources(config, moment)
    summary.scoring = score_new_posts(config)
    triage = open_new_complaints(config, moment)
    summary.opened, summary.grouped = triage.opened, triage.grouped
    summary.reach_grew, summary.raised = triage.reach_grew, triage.raised
    summary.delivery = deliver_notifications(config, moment)
    return summary
