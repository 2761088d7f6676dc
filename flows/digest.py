"""The ``digest`` flow: once a day, the summary of the last ``[digest] period`` and its
charts, posted to Slack (the text as a message, the charts uploaded in its thread), or
printed when Slack is off. ``uproar serve`` schedules it; ``uproar digest`` sends one now.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from slack_sdk import WebClient

from alerts.reach import estimated_reach
from alerts.slack import make_slack_client
from flows.config import UproarConfig, load_config
from flows.report import digest_text, write_report
from storage.db import database
from storage.history import HistoryFilter, parse_when
from storage.privacy import mask_personal_data
from storage.types import utcnow


@dataclass(frozen=True)
class Digest:
    """What the digest says and the chart files that go with it."""

    text: str
    charts: list[Path]


@dataclass(frozen=True)
class DigestSent:
    destination: str  # "slack:#channel" or "console"
    ts: str | None
    files: int


def make_digest(
    config: UproarConfig, now: datetime, out: Path, period: str | None = None
) -> Digest:
    """The summary of the ``period`` (default ``[digest] period``) before ``now``."""
    history = HistoryFilter(
        since=parse_when(period or config.digest.period, now),
        until=now,
        negativity_threshold=config.thresholds.negativity,
    )
    with database(config.database.url) as factory, factory() as session:
        report = write_report(session, history, estimated_reach, now, out)
    return Digest(digest_text(report), list(report.charts.values()))


def send_digest(client: WebClient, channel: str, digest: Digest) -> DigestSent:
    """Post the text, then upload every chart into the message's thread (files_upload_v2
    wants a channel id: the one chat.postMessage answered with)."""
    posted = client.chat_postMessage(channel=channel, text=mask_personal_data(digest.text))
    channel_id = str(posted["channel"])
    ts = str(posted["ts"])
    if digest.charts:
        client.files_upload_v2(
            file_uploads=[
                {"file": str(path), "filename": path.name, "title": path.stem.replace("_", " ")}
                for path in digest.charts
            ],
            channel=channel_id,
            thread_ts=ts,
        )
    return DigestSent(f"slack:{channel}", ts, len(digest.charts))


def deliver_digest(config: UproarConfig, digest: Digest) -> DigestSent:
    """To ``[digest] channel`` (else the alerts channel) when Slack is on; else printed."""
    if not config.slack.enabled:
        print(digest.text)
        return DigestSent("console", None, 0)
    client = make_slack_client(config.slack, os.environ)
    return send_digest(client, config.digest.channel or config.slack.channel, digest)


def digest_now(config: UproarConfig, now: datetime, period: str | None = None) -> DigestSent:
    """Make and deliver one digest without Prefect (``uproar digest``)."""
    with tempfile.TemporaryDirectory(prefix="uproar-digest-") as folder:
        return deliver_digest(config, make_digest(config, now, Path(folder), period))


@task(name="make-digest", cache_policy=NO_CACHE)
def make_digest_task(config: UproarConfig, now: datetime, out: str, period: str | None) -> Digest:
    return make_digest(config, now, Path(out), period)


@task(name="send-digest", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=30)
def send_digest_task(config: UproarConfig, digest: Digest) -> DigestSent:
    return deliver_digest(config, digest)


@flow(name="digest")
def digest(config_path: str, period: str | None = None, now: datetime | None = None) -> DigestSent:
    """One digest: summarise, draw, send. Charts live in a temporary folder until sent."""
    config = load_config(config_path)
    moment = now or utcnow()
    with tempfile.TemporaryDirectory(prefix="uproar-digest-") as folder:
        made = make_digest_task(config, moment, folder, period)
        sent = send_digest_task(config, made)
    get_run_logger().info("digest sent to %s with %d charts", sent.destination, sent.files)
    return sent
