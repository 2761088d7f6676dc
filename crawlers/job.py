"""The contract between the runner and its crawl process: a job in, one result line out."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from crawlers.config import CrawlSettings, SourceConfig, WatchConfig

# Scrapy stats the spiders and pipelines count, and the result is read from.
STAT_FETCHED = "uproar/fetched"
STAT_NEW = "uproar/new"
STAT_KNOWN = "uproar/known"
STAT_SKIPPED = "uproar/skipped"
STAT_ERRORS = "uproar/errors"
STAT_PAGES_WITHOUT_ITEMS = "uproar/pages_without_items"
STAT_DELETED = "uproar/deleted"
STAT_AMPLIFICATIONS = "uproar/amplifications"

# Incremental state of a source: watch name ("*" for watch-independent streams) ->
# stream key ("search:larkspur", "tag:larkspur", "r/brand") -> cursor value.
Cursors = dict[str, dict[str, str]]


class CrawlJob(BaseModel):
    """What ``python -m crawlers.run_one`` reads on stdin."""

    model_config = ConfigDict(extra="forbid")

    source: SourceConfig
    watches: list[WatchConfig] = []
    crawl: CrawlSettings = Field(default_factory=CrawlSettings)
    database_url: str
    cursors: Cursors = {}


class CrawlReport(BaseModel):
    """How one source crawl went: what ``python -m crawlers.run_one`` prints as its last
    stdout line, and what :func:`crawlers.runner.run_crawl` returns. ``errors`` name the
    source, URL and status."""

    source: str
    fetched: int = 0
    new: int = 0
    known: int = 0
    skipped: int = 0
    deleted: int = 0
    amplifications: int = 0
    errors: list[str] = []
    cursors: Cursors = {}
    # Scrapy's own clock for the crawl (interpreter start-up not included).
    elapsed_seconds: float | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def down(self) -> bool:
        """Nothing could be read and something went wrong: the source looks down, as
        opposed to partly broken (some pages or entries failed, the rest came in)."""
        return bool(self.errors) and self.fetched == 0

    @classmethod
    def from_stats(
        cls,
        source: str,
        stats: dict[str, Any],
        errors: list[str],
        cursors: Cursors | None = None,
    ) -> CrawlReport:
        return cls(
            source=source,
            fetched=int(stats.get(STAT_FETCHED, 0)),
            new=int(stats.get(STAT_NEW, 0)),
            known=int(stats.get(STAT_KNOWN, 0)),
            skipped=int(stats.get(STAT_SKIPPED, 0)),
            deleted=int(stats.get(STAT_DELETED, 0)),
            amplifications=int(stats.get(STAT_AMPLIFICATIONS, 0)),
            errors=errors,
            cursors=cursors or {},
            elapsed_seconds=stats.get("elapsed_time_seconds"),
        )
