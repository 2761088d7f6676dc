"""Run ONE source crawl in this process: ``python -m crawlers.run_one < job.json``.

Scrapy's Twisted reactor cannot be restarted inside a process, so every crawl gets a
fresh process (see :mod:`crawlers.runner`). Reads a :class:`~crawlers.job.CrawlJob` as JSON
on stdin, prints one :class:`~crawlers.job.CrawlReport` JSON line on stdout; logs go to stderr.
"""

from __future__ import annotations

import importlib
import sys

from pydantic import ValidationError
from scrapy.crawler import CrawlerProcess
from twisted.python.failure import Failure

from crawlers.job import CrawlJob, CrawlReport
from crawlers.settings import build_settings
from crawlers.spiders.api import ApiSpider
from crawlers.spiders.base import UproarSpider

# Source type -> "module:Class" of its spider, imported only when that type is crawled.
SPIDERS: dict[str, str] = {
    "feed": "crawlers.spiders.feed:FeedSpider",
    "reviews": "crawlers.spiders.reviews:ReviewPageSpider",
    "mastodon": "crawlers.spiders.mastodon:MastodonSpider",
    "bluesky": "crawlers.spiders.bluesky:BlueskySpider",
    "reddit": "crawlers.spiders.reddit:RedditSpider",
    "hackernews": "crawlers.spiders.hackernews:HackerNewsSpider",
    "weibo": "crawlers.spiders.weibo:WeiboSpider",
    "appstore": "crawlers.spiders.appstore:AppStoreSpider",
}


def spider_class(source_type: str) -> type[UproarSpider]:
    module_name, _, class_name = SPIDERS[source_type].partition(":")
    spider = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(spider, type) and issubclass(spider, UproarSpider)):
        raise TypeError(f"{SPIDERS[source_type]} is not an UproarSpider")
    return spider


def crawl(job: CrawlJob) -> CrawlReport:
    """Crawl ``job.source`` once, storing posts in ``job.database_url``."""
    process = CrawlerProcess(build_settings(job.crawl, job.database_url))
    spider_type = spider_class(job.source.type)
    crawler = process.create_crawler(spider_type)
    failures: list[str] = []

    def on_failure(failure: Failure) -> None:
        failures.append(f"{job.source.name}: crawl failed: {failure.getErrorMessage()}")

    extra = {"cursors": job.cursors} if issubclass(spider_type, ApiSpider) else {}
    process.crawl(crawler, source=job.source, watches=job.watches, **extra).addErrback(on_failure)
    process.start()
    spider = crawler.spider
    errors = list(spider.errors) if isinstance(spider, UproarSpider) else []
    cursors = spider.committed_cursors() if isinstance(spider, ApiSpider) else job.cursors
    if failures:  # the crawl itself broke: keep the old cursors, re-read next time
        cursors = job.cursors
    stats = crawler.stats.get_stats() if crawler.stats is not None else {}
    return CrawlReport.from_stats(job.source.name, stats, errors + failures, cursors)


def main() -> int:
    try:
        job = CrawlJob.model_validate_json(sys.stdin.read())
    except ValidationError as exc:
        print(f"invalid crawl job on stdin: {exc}", file=sys.stderr)
        return 2
    report = crawl(job)
    sys.stdout.write(report.model_dump_json() + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
