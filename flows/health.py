"""Source health, the I/O edge: read crawl state and recent post times, judge each source
with :mod:`crawlers.health`, record the verdict and raise operations alerts on changes.

Runs after the crawls of a monitoring pass and before delivery, so a "source broken" alert
goes out in the same pass. Each source is checked in its own transaction: its
``crawl_state`` row (locked on PostgreSQL), its ``health`` and ``broken_alerted_at``, and
the outbox row are written together, so an alert is enqueued exactly when the row says so.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerts.ops import enqueue_source_alert
from crawlers.config import AnySource
from crawlers.health import (
    PostTime,
    RunState,
    SourceHealth,
    SourceHealthSettings,
    alert_transition,
    assess_health,
)
from crawlers.runner import ALL_WATCHES
from flows.config import UproarConfig
from storage.db import session_scope
from storage.models import CrawlState, Post

# crawl_state.health keeps the verdict of the last check; never-run has no row to keep it.
STORED_STATUSES = frozenset({"ok", "partial", "down", "silent"})


def _state_row(session: Session, source: str, *, lock: bool) -> CrawlState | None:
    query = select(CrawlState).where(CrawlState.source == source, CrawlState.watch == ALL_WATCHES)
    if lock:
        query = query.with_for_update()
    return session.execute(query).scalar_one_or_none()


def _run_state(row: CrawlState | None) -> RunState | None:
    if row is None:
        return None
    return RunState(
        last_run_at=row.last_run_at,
        last_success_at=row.last_success_at,
        consecutive_failures=row.consecutive_failures or 0,
        last_error=row.last_error,
        broken_alerted_at=row.broken_alerted_at,
    )


def recent_post_times(session: Session, source: str, limit: int) -> list[PostTime]:
    """Publication and fetch times of the ``limit`` posts of ``source`` fetched last
    (newest publications first within one fetch): bounded however many posts pile up."""
    query = (
        select(Post.published_at, Post.fetched_at)
        .where(Post.source == source)
        .order_by(Post.fetched_at.desc(), Post.published_at.desc().nulls_last(), Post.id.desc())
        .limit(limit)
    )
    return [PostTime(published, fetched) for published, fetched in session.execute(query)]


def _assess(
    session: Session,
    source: AnySource,
    row: CrawlState | None,
    settings: SourceHealthSettings,
) -> SourceHealth:
    posts = recent_post_times(session, source.name, settings.gap_sample) if row else []
    return assess_health(source.name, _run_state(row), posts, settings, enabled=source.enabled)


def source_health(factory: sessionmaker[Session], config: UproarConfig) -> list[SourceHealth]:
    """Every configured source's health, read-only (for ``uproar sources status``)."""
    settings = config.crawl.health
    with session_scope(factory) as session:
        return [
            _assess(session, source, _state_row(session, source.name, lock=False), settings)
            for source in config.sources
        ]


def check_source_health(
    factory: sessionmaker[Session], config: UproarConfig, now: datetime
) -> list[SourceHealth]:
    """Judge every enabled source, store its health, and enqueue one "source broken" alert
    when it breaks and one "recovered" when it works again, to the operations channel.

    Returns each source's health as of after the check (``broken_alerted_at`` updated).
    """
    settings = config.crawl.health
    channel = config.slack.ops_channel or config.slack.channel
    checked: list[SourceHealth] = []
    for source in config.enabled_sources():
        with session_scope(factory) as session:
            row = _state_row(session, source.name, lock=True)
            health = _assess(session, source, row, settings)
            if row is None:
                checked.append(health)
                continue
            if health.status in STORED_STATUSES:
                row.health = health.status
            transition = alert_transition(health.broken, health.alerted)
            if transition is not None:
                enqueue_source_alert(session, health, transition, channel, now)
                row.broken_alerted_at = now if transition == "broken" else None
                health = replace(health, broken_alerted_at=row.broken_alerted_at)
            checked.append(health)
    return checked
