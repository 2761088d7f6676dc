"""Run one source crawl in a child process and record how it went in ``crawl_state``.

This is what a Prefect task calls. Each crawl runs in a fresh ``python -m crawlers.run_one``
process (Scrapy's reactor cannot restart in one process), under a hard time limit; a child
that crashes or hangs becomes a failed CrawlResult, never an exception.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crawlers.config import CrawlSettings, FeedSource, ReviewPagesSource, WatchConfig
from crawlers.job import CrawlJob, CrawlReport
from storage.db import open_database, session_scope
from storage.models import CrawlState
from storage.types import utcnow

ALL_WATCHES = "*"
STDERR_TAIL_CHARS = 2000
LAST_ERROR_MAX_CHARS = 4000
PROJECT_ROOT = Path(__file__).resolve().parents[1]
CHILD_COMMAND = (sys.executable, "-m", "crawlers.run_one")


CrawlResult = CrawlReport  # the name the flow and the CLI use


def _tail(text: str | bytes | None) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = (text or "").strip()
    return text[-STDERR_TAIL_CHARS:] if text else "(no output on stderr)"


def _child_env() -> dict[str, str]:
    """The parent's environment, with the project importable even when not installed."""
    env = dict(os.environ)
    paths = [str(PROJECT_ROOT), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def _read_report(stdout: str) -> CrawlReport | None:
    for line in reversed(stdout.strip().splitlines()):
        try:
            return CrawlReport.model_validate(json.loads(line))
        except (json.JSONDecodeError, ValidationError):
            continue
    return None


def run_child(
    job: CrawlJob, timeout_seconds: float, command: Sequence[str] = CHILD_COMMAND
) -> CrawlResult:
    """Run ``job`` in ``command`` (``python -m crawlers.run_one``); a child that crashes,
    hangs or prints no result becomes a CrawlResult whose error names the source."""
    name = job.source.name
    try:
        completed = subprocess.run(
            list(command),
            input=job.model_dump_json(),
            capture_output=True,
            text=True,
            timeout=timeout_seconds,
            env=_child_env(),
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        return CrawlResult(
            source=name,
            errors=[
                f"{name}: crawl process killed after {timeout_seconds:g}s "
                f"(process_timeout_seconds); stderr: {_tail(exc.stderr)}"
            ],
        )
    report = _read_report(completed.stdout or "")
    if completed.returncode != 0 or report is None:
        return CrawlResult(
            source=name,
            errors=[
                f"{name}: crawl process exited with code {completed.returncode} "
                f"without a result; stderr: {_tail(completed.stderr)}"
            ],
        )
    return report


def record_crawl_state(factory: sessionmaker[Session], result: CrawlResult, now: datetime) -> None:
    """Upsert the ``crawl_state`` row (source, watch="*") with this run's outcome."""
    with session_scope(factory) as session:
        state = session.execute(
            select(CrawlState).where(
                CrawlState.source == result.source, CrawlState.watch == ALL_WATCHES
            )
        ).scalar_one_or_none()
        if state is None:
            state = CrawlState(source=result.source, watch=ALL_WATCHES, consecutive_failures=0)
            session.add(state)
        state.last_run_at = now
        state.last_stats = result.model_dump() | {"errors": len(result.errors)}
        if result.ok:
            state.last_success_at = now
            state.last_error = None
            state.consecutive_failures = 0
        else:
            state.last_error = "\n".join(result.errors)[:LAST_ERROR_MAX_CHARS]
            state.consecutive_failures = (state.consecutive_failures or 0) + 1


def run_crawl(
    source: FeedSource | ReviewPagesSource,
    watches: Sequence[WatchConfig],
    crawl_settings: CrawlSettings,
    database_url: str,
    *,
    command: Sequence[str] = CHILD_COMMAND,
) -> CrawlResult:
    """Crawl ``source`` once in a child process, store its posts and record the outcome.

    A disabled source is not crawled (and nothing is recorded). ``command`` is the child
    to run; tests swap in one that crashes.
    """
    if not source.enabled:
        return CrawlResult(source=source.name)
    job = CrawlJob(
        source=source, watches=list(watches), crawl=crawl_settings, database_url=database_url
    )
    result = run_child(job, crawl_settings.process_timeout_seconds, command)
    engine, factory = open_database(database_url)
    try:
        record_crawl_state(factory, result, utcnow())
    finally:
        engine.dispose()
    return result
