"""Item pipelines: keep only posts that belong to a watch, then store them idempotently."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from crawlers.config import WatchConfig
from crawlers.items import PostItem, searchable_text
from crawlers.job import STAT_AMPLIFICATIONS, STAT_KNOWN, STAT_NEW, STAT_SKIPPED
from crawlers.query import Query, parse_watch_query
from crawlers.spiders.base import UproarSpider
from crawlers.text import primary_subtag
from storage.db import open_database, session_scope
from storage.posts import NewAmplification, save_amplifications, save_posts
from storage.types import utcnow

DATABASE_URL_SETTING = "UPROAR_DATABASE_URL"


def matching_watch(item: PostItem, watches: list[tuple[WatchConfig, Query]]) -> str | None:
    """Name of the first watch ``item`` belongs to, or None.

    A watch limited to languages skips posts in other languages; a post whose language
    could not be detected is not excluded (a short complaint is still a complaint).
    """
    text = searchable_text(item)
    language = primary_subtag(item.language) if item.language else None
    for watch, query in watches:
        allowed = {primary_subtag(lang) for lang in watch.languages}
        if allowed and language is not None and language not in allowed:
            continue
        if query.matches(text):
            return watch.name
    return None


class _CrawlerPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    @property
    def spider(self) -> UproarSpider:
        spider = self.crawler.spider
        if not isinstance(spider, UproarSpider):
            raise TypeError(f"{type(self).__name__} needs an UproarSpider, got {spider!r}")
        return spider

    def inc_stat(self, key: str, count: int = 1) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(key, count)


class WatchFilterPipeline(_CrawlerPipeline):
    """Sets ``item.watch`` (the source's ``assign_watch``, else the first matching watch)
    and drops items that belong to no watch."""

    def open_spider(self) -> None:
        spider = self.spider
        wanted = set(spider.source.watches)
        self.assign_watch = spider.source.assign_watch
        self.watches = [
            (watch, parse_watch_query(watch.query))
            for watch in spider.watches
            if not wanted or watch.name in wanted
        ]

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, PostItem):
            return item
        if self.assign_watch:
            item.watch = self.assign_watch
            return item
        watch = matching_watch(item, self.watches)
        if watch is None:
            self.inc_stat(STAT_SKIPPED)
            raise DropItem(f"{item.external_id} matches no watch")
        item.watch = watch
        return item


class StorePostsPipeline(_CrawlerPipeline):
    """Stores posts and amplifications in batches (one transaction per batch).

    Posts are flushed before amplifications, so a repost in the same batch finds its
    original. A batch that fails is retried post by post, so one bad post loses only
    itself, with an error naming it.
    """

    batch_size = 200
    engine: Engine
    factory: sessionmaker[Session]
    fetched_at: datetime

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        url = crawler.settings.get(DATABASE_URL_SETTING)
        if not url:
            raise NotConfigured(f"{DATABASE_URL_SETTING} is not set")
        self.database_url: str = url
        self.posts: list[PostItem] = []
        self.amplifications: list[NewAmplification] = []

    def open_spider(self) -> None:
        self.engine, self.factory = open_database(self.database_url)
        self.fetched_at = utcnow()

    def close_spider(self) -> None:
        try:
            self.flush()
        finally:
            self.engine.dispose()

    def process_item(self, item: Any) -> Any:
        if isinstance(item, PostItem):
            self.posts.append(item)
        elif isinstance(item, NewAmplification):
            self.amplifications.append(item)
        else:
            return item
        if len(self.posts) + len(self.amplifications) >= self.batch_size:
            self.flush()
        return item

    def flush(self) -> None:
        posts, self.posts = self.posts, []
        amplifications, self.amplifications = self.amplifications, []
        if posts:
            self._store_posts(posts)
        if amplifications:
            try:
                with session_scope(self.factory) as session:
                    new = save_amplifications(session, amplifications, self.fetched_at)
            except Exception as exc:
                self.spider.record_error(
                    f"could not store {len(amplifications)} amplifications: {exc}"
                )
                return
            self.inc_stat(STAT_AMPLIFICATIONS, new)

    def _store_posts(self, posts: list[PostItem]) -> None:
        failed: set[str] = set()
        try:
            with session_scope(self.factory) as session:
                new = save_posts(session, posts, self.fetched_at)
        except Exception:
            new = set()
            for post in posts:
                try:
                    with session_scope(self.factory) as session:
                        new |= save_posts(session, [post], self.fetched_at)
                except Exception as exc:
                    failed.add(post.external_id)
                    self.spider.record_error(f"could not store {post.external_id}: {exc}")
        seen = {post.external_id for post in posts}
        self.inc_stat(STAT_NEW, len(new))
        self.inc_stat(STAT_KNOWN, len(seen - new - failed))
