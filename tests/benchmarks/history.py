"""History at scale: a generated history of ``UPROAR_BENCH_HISTORY_POSTS`` posts (default
1,000,000, with a twentieth as many complaints) on SQLite and PostgreSQL, then

* the 90-day daily negative share by source (the target: at most 0.3 s), from the daily
  rollup and, for comparison, counting posts one by one;
* the 90-day complaint measures (times p50/p90, deadline hit rate by priority);
* exporting every post to Parquet in chunks: rows per second and how much the process
  grew while doing it (it holds one chunk, not the export).

``python -m tests.benchmarks.history`` runs this section alone.
"""

from __future__ import annotations

import os
import resource
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from storage.db import make_engine, make_session_factory
from storage.history import (
    HistoryFilter,
    deadline_hit_rate,
    iter_posts,
    mentions,
    parse_grouping,
    response_times,
    write_frames,
)
from storage.history_generate import generate

POSTGRES_URL = os.environ.get(
    "UPROAR_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TARGET_SECONDS = 0.3


def _best(run: Callable[[], object], times: int = 5) -> tuple[float, float]:
    """(median, best) wall seconds of ``times`` runs after one warm-up."""
    run()
    seconds = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), min(seconds)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def _databases(folder: Path) -> Iterator[list[tuple[str, str]]]:
    urls = [("SQLite", f"sqlite:///{folder / 'history.db'}")]
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = None
    try:
        admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        urls.append(("PostgreSQL", f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"))
    except Exception as exc:  # no server: SQLite only
        print(f"  (PostgreSQL skipped: {exc.__class__.__name__})")
        admin = None
    try:
        yield urls
    finally:
        if admin is not None:
            with admin.connect() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def _one(name: str, url: str, posts: int, folder: Path) -> None:
    engine = make_engine(url)
    try:
        end = datetime.now(UTC)
        made = generate(engine, posts=posts, complaints=max(posts // 20, 1), days=365, end=end)
        print(
            f"  {name}: generated {made.posts:,} posts + {made.complaints:,} complaints "
            f"in {made.seconds:.0f} s"
        )
        factory = make_session_factory(engine)
        window = HistoryFilter(since=end - timedelta(days=90), until=end)
        by_day_source = parse_grouping(["day", "source"])
        with factory() as session:
            median, best = _best(lambda: mentions(session, window, by_day_source))
            verdict = "ok" if median <= TARGET_SECONDS else f"OVER {TARGET_SECONDS} s"
            print(
                f"    90-day daily negative share by source: median {median * 1000:.0f} ms, "
                f"best {best * 1000:.0f} ms ({verdict})"
            )
            median, _ = _best(
                lambda: mentions(session, window, by_day_source, use_rollup=False), times=2
            )
            print(f"    the same counting posts one by one: median {median * 1000:.0f} ms")
            by_priority = parse_grouping(["priority"], allowed=("priority",))
            median, _ = _best(
                lambda: (
                    response_times(session, window, by_priority),
                    deadline_hit_rate(session, window, by_priority),
                ),
                times=2,
            )
            print(
                f"    90-day times p50/p90 + deadline hit rate by priority: {median * 1000:.0f} ms"
            )
            before = _rss_mb()
            started = time.perf_counter()
            rows = write_frames(
                iter_posts(session, HistoryFilter(), chunk_size=50_000),
                "parquet",
                folder / f"posts-{name}.parquet",
            )
            seconds = time.perf_counter() - started
            print(
                f"    export {rows:,} posts to Parquet in chunks of 50,000: {seconds:.1f} s "
                f"= {rows / seconds:,.0f} rows/s; peak memory grew {_rss_mb() - before:.0f} MB"
            )
    finally:
        engine.dispose()


def main() -> None:
    posts = int(os.environ.get("UPROAR_BENCH_HISTORY_POSTS", "1000000"))
    print(f"history at scale ({posts:,} posts over 365 days):")
    with tempfile.TemporaryDirectory(prefix="uproar-bench-history-") as folder:
        root = Path(folder)
        with _databases(root) as urls:
            for name, url in urls:
                _one(name, url, posts, root)


if __name__ == "__main__":
    main()
