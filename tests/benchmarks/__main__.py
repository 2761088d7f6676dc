"""``make bench``: crawl + store, scoring and triage throughput on this machine, and
history queries at scale (tests/benchmarks/history.py).

Each stage runs on generated data of a known size and prints items per second, so
changes can be compared run to run. Nothing here is a pass/fail test.
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from alerts.complaints import open_complaints
from alerts.config import DeadlineSettings, RotaSettings, ThresholdSettings
from crawlers.config import CrawlSettings, FeedSource, WatchConfig
from crawlers.runner import run_crawl
from flows.sample_server import SampleServer
from sentiment.config import SentimentSettings
from sentiment.model import load_model
from sentiment.store import score_unscored_posts
from storage.db import open_database, session_scope
from tests.benchmarks import history, platforms, sentiment_speed

FEED_ITEMS = 2000
SAMPLE_TEXTS = [
    "Day 6 and still no sign of my Acme parcel, and nobody answers the phone.",
    "Acme refund still not paid after 72 hours. Order #AC-20931.",
    "Loving my new Acme lamp, delivery was quick and the box was plastic-free.",
    "Acme opens a new store in Leeds next month.",
    "Acme客服态度太差了，退款一个星期还没到账。",
    "云雀家居的沙发质量很好，物流也快。",
]


def _feed(items: int) -> str:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    entries = []
    for n in range(items):
        text = SAMPLE_TEXTS[n % len(SAMPLE_TEXTS)]
        published = format_datetime(start + timedelta(minutes=n))
        entries.append(
            f"<item><title>Post {n}</title><link>http://bench.invalid/{n}</link>"
            f'<guid isPermaLink="false">bench-{n}</guid>'
            f"<description>{escape(text)} #{n}</description><pubDate>{published}</pubDate>"
            f"<reach:followers>{(n * 37) % 5000}</reach:followers>"
            f"<reach:reposts>{n % 13}</reach:reposts></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:reach="https://uproar.dev/ns/reach"><channel>'
        "<title>bench</title><link>http://bench.invalid/</link><description>bench</description>"
        + "".join(entries)
        + "</channel></rss>"
    )


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s" if seconds > 0 else "n/a"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="uproar-bench-") as folder:
        root = Path(folder)
        site = root / "site"
        site.mkdir()
        (site / "feed.xml").write_text(_feed(FEED_ITEMS), encoding="utf-8")
        (site / "robots.txt").write_text("User-agent: *\nAllow: /\n", encoding="utf-8")
        url = f"sqlite:///{root / 'bench.db'}"
        open_database(url)
        watch = WatchConfig(name="acme", query="acme OR 云雀")
        crawl = CrawlSettings(autothrottle=False)

        with SampleServer(site) as server:
            source = FeedSource(type="feed", name="bench", url=f"{server.base_url}/feed.xml")
            started = time.perf_counter()
            result = run_crawl(source, [watch], crawl, url)
            crawl_seconds = time.perf_counter() - started
        print(
            f"crawl + parse + store: {result.new} posts in {crawl_seconds:.1f} s "
            f"= {_rate(result.new, crawl_seconds)} (one subprocess, incl. its start-up)"
        )

        started = time.perf_counter()
        model = load_model(SentimentSettings())
        load_seconds = time.perf_counter() - started
        _, factory = open_database(url)
        started = time.perf_counter()
        scored = score_unscored_posts(factory, model, batch_size=64)
        score_seconds = time.perf_counter() - started
        print(
            f"sentiment: model loaded in {load_seconds:.1f} s; scored {scored} posts in "
            f"{score_seconds:.1f} s = {_rate(scored, score_seconds)} ({model.version})"
        )

        started = time.perf_counter()
        with session_scope(factory) as session:
            opened = open_complaints(
                session,
                thresholds=ThresholdSettings(),
                deadlines=DeadlineSettings(),
                rota=RotaSettings(),
                now=datetime.now(UTC),
            )
        triage_seconds = time.perf_counter() - started
        print(
            f"triage: {scored} scored posts -> {len(opened)} complaints in "
            f"{triage_seconds:.2f} s = {_rate(scored, triage_seconds)} posts"
        )
        if score_seconds > 0 and crawl_seconds > 0:
            ratio = (result.new / crawl_seconds) / (scored / score_seconds)
            print(
                f"ratio crawl/scoring throughput: {ratio:.1f}x (above 1: scoring is the bottleneck)"
            )

    sentiment_speed.main()
    platforms.main()
    history.main()


if __name__ == "__main__":
    main()
