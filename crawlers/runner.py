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

from crawlers.config import AnySource, CrawlSettings, WatchConfig
from crawlers.job import CrawlJob, CrawlReport, Cursors
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


def load_cursors(factory: sessionmaker[Session], source: str) -> Cursors:
    """The source's stored cursors, per watch (``crawl_state.cursor`` holds JSON)."""
    with session_scope(factory) as session:
        rows = session.execute(
            select(CrawlState.watch, CrawlState.cursor).where(CrawlState.source == source)
        ).tuples()
        cursors: Cursors = {}
        for watch, cursor in rows:
            try:
                stored = json.loads(cursor) if cursor else {}
            except json.JSONDecodeError:
                stored = {}  # an unreadable cursor means a full re-read, not a crash
            if isinstance(stored, dict) and stored:
                cursors[watch] = {str(key): str(value) for key, value in stored.items()}
        return cursors


def _state_row(session: Session, source: str, watch: str) -> CrawlState:
    state = session.execute(
        select(CrawlState).where(CrawlState.source == source, CrawlState.watch == watch)
    ).scalar_one_or_none()
    if state is None:
        state = CrawlState(source=source, watch=watch, consecutive_failures=0)
        session.add(state)
    return state


def record_crawl_state(factory: sessionmaker[Session], result: CrawlResult, now: datetime) -> None:
    """Record this run on the source's ``crawl_state`` rows.

    The (source, "*") row keeps the outcome: a run that read nothing and failed is
    *down* and counts towards ``consecutive_failures``; a run where some pages or entries
    failed but the rest came in is *partial* and still counts as a success. Each watch's
    row keeps that watch's cursors.
    """
    with session_scope(factory) as session:
        state = _state_row(session, result.source, ALL_WATCHES)
        state.last_run_at = now
        state.last_stats = result.model_dump(exclude={"cursors"}) | {"errors": len(result.errors)}
        state.health = "down" if result.down else "partial" if result.errors else "ok"
        if result.down:
            state.last_error = "\n".join(result.errors)[:LAST_ERROR_MAX_CHARS]
            state.consecutive_failures = (state.consecutive_failures or 0) + 1
        else:
            state.last_success_at = now
            state.consecutive_failures = 0
            state.last_error = (
                "\n".join(result.errors)[:LAST_ERROR_MAX_CHARS] if result.errors else None
            )
        for watch, cursors in result.cursors.items():
            row = state if watch == ALL_WATCHES else _state_row(session, result.source, watch)
            row.cursor = json.dumps(cursors, sort_keys=True, ensure_ascii=False)


def run_crawl(
    source: AnySource,
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
    engine, factory = open_database(database_url)
    try:
        job = CrawlJob(
            source=source,
            watches=list(watches),
            crawl=crawl_settings,
            database_url=database_url,
            cursors=load_cursors(factory, source.name),
        )
        result = run_child(job, crawl_settings.process_timeout_seconds, command)
        record_crawl_state(factory, result, utcnow())
    finally:
        engine.dispose()
    return result
