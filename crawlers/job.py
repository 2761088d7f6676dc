"""The contract between the runner and its crawl process: a job in, one result line out."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from crawlers.config import CrawlSettings, SourceConfig, WatchConfig


class CrawlJob(BaseModel):
    """What ``python -m crawlers.run_one`` reads on stdin."""

    model_config = ConfigDict(extra="forbid")

    source: SourceConfig
    watches: list[WatchConfig] = []
    crawl: CrawlSettings = Field(default_factory=CrawlSettings)
    database_url: str


class CrawlReport(BaseModel):
    """What ``python -m crawlers.run_one`` prints as its last stdout line."""

    source: str
    fetched: int = 0
    new: int = 0
    known: int = 0
    skipped: int = 0
    errors: list[str] = []

    @classmethod
    def from_stats(cls, source: str, stats: dict[str, Any], errors: list[str]) -> CrawlReport:
        return cls(
            source=source,
            fetched=int(stats.get("uproar/fetched", 0)),
            new=int(stats.get("uproar/new", 0)),
            known=int(stats.get("uproar/known", 0)),
            skipped=int(stats.get("uproar/skipped", 0)),
            errors=errors,
        )
