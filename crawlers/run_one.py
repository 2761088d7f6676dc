"""Run ONE source crawl in this process: ``python -m crawlers.run_one < job.json``.

Scrapy's Twisted reactor cannot be restarted inside a process, so every crawl gets a
fresh process (see :mod:`crawlers.runner`). Reads a :class:`~crawlers.job.CrawlJob` as JSON
on stdin, prints one :class:`~crawlers.job.CrawlReport` JSON line on stdout; logs go to stderr.
"""

from __future__ import annotations

import sys

from pydantic import ValidationError
from scrapy.crawler import CrawlerProcess
from twisted.python.failure import Failure

from crawlers.job import CrawlJob, CrawlReport
from crawlers.settings import build_settings
from crawlers.spiders.base import UproarSpider
from crawlers.spiders.feed import FeedSpider
from crawlers.spiders.reviews import ReviewPageSpider

SPIDERS: dict[str, type[UproarSpider]] = {"feed": FeedSpider, "reviews": ReviewPageSpider}


def crawl(job: CrawlJob) -> CrawlReport:
    """Crawl ``job.source`` once, storing posts in ``job.database_url``."""
    process = CrawlerProcess(build_settings(job.crawl, job.database_url))
    crawler = process.create_crawler(SPIDERS[job.source.type])
    failures: list[str] = []

    def on_failure(failure: Failure) -> None:
        failures.append(f"{job.source.name}: crawl failed: {failure.getErrorMessage()}")

    process.crawl(crawler, source=job.source, watches=job.watches).addErrback(on_failure)
    process.start()
    spider = crawler.spider
    errors = list(spider.errors) if isinstance(spider, UproarSpider) else []
    stats = crawler.stats.get_stats() if crawler.stats is not None else {}
    return CrawlReport.from_stats(job.source.name, stats, errors + failures)


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
