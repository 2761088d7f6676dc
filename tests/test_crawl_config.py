"""Crawler settings models, the Scrapy settings built from them, and watch assignment."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from crawlers.config import (
    DEFAULT_USER_AGENT,
    AnySource,
    CrawlSettings,
    FeedSource,
    ReviewPagesSource,
    SourceConfig,
    WatchConfig,
)
from crawlers.items import PostItem
from crawlers.pipelines import DATABASE_URL_SETTING, matching_watch
from crawlers.query import parse_watch_query
from crawlers.settings import build_settings

SOURCES: TypeAdapter[AnySource] = TypeAdapter(SourceConfig)


def test_sources_are_chosen_by_type() -> None:
    feed = SOURCES.validate_python({"type": "feed", "name": "f", "url": "http://x/feed"})
    assert isinstance(feed, FeedSource) and feed.enabled and feed.watches == []
    pages = SOURCES.validate_python(
        {"type": "reviews", "name": "r", "urls": ["http://x/p"], "assign_watch": "acme"}
    )
    assert isinstance(pages, ReviewPagesSource) and pages.assign_watch == "acme"


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"type": "feed", "name": "f"}, "url"),
        ({"type": "reviews", "name": "r", "urls": []}, "urls"),
        ({"type": "feed", "name": "f", "url": "u", "ulr": "u"}, "ulr"),
        ({"type": "myspace", "name": "m"}, "type"),
    ],
)
def test_bad_sources_name_the_key(data: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        SOURCES.validate_python(data)


def test_crawl_settings_become_scrapy_settings() -> None:
    crawl = CrawlSettings(contact="pr@acme.example", timeout_seconds=7, retries=0)
    settings = build_settings(crawl, "sqlite:///x.db")
    assert settings["USER_AGENT"] == f"{DEFAULT_USER_AGENT} (contact: pr@acme.example)"
    assert settings["DOWNLOAD_TIMEOUT"] == 7
    assert (settings["RETRY_ENABLED"], settings["RETRY_TIMES"]) == (False, 0)
    assert settings["ROBOTSTXT_OBEY"] is True and settings["AUTOTHROTTLE_ENABLED"] is True
    assert settings["TELNETCONSOLE_ENABLED"] is False
    assert settings[DATABASE_URL_SETTING] == "sqlite:///x.db"
    assert list(settings["ITEM_PIPELINES"]) == [
        "crawlers.pipelines.WatchFilterPipeline",
        "crawlers.pipelines.StorePostsPipeline",
    ]
    assert build_settings(CrawlSettings(), "u")["USER_AGENT"] == DEFAULT_USER_AGENT


def item(text: str, language: str | None) -> PostItem:
    return PostItem(source="s", platform="feed", external_id="1", text=text, language=language)


WATCHES = [
    WatchConfig(name="acme-zh", query="阿克美 OR acme", languages=["zh"]),
    WatchConfig(name="acme", query="acme", languages=["en-US", "fr"]),
    WatchConfig(name="refunds", query="refund OR 退款"),
]


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("acme is great", "en", "acme"),
        ("acme is great", "en-GB", "acme"),
        ("acme est super", "fr", "acme"),
        ("我爱acme", "zh", "acme-zh"),
        ("acme ist toll", "de", None),
        ("acme refund please", "de", "refunds"),
        ("acme!!", None, "acme-zh"),  # unknown language is not excluded
        ("退款", "zh", "refunds"),
        ("nothing", "en", None),
    ],
)
def test_matching_watch(text: str, language: str | None, expected: str | None) -> None:
    parsed = [(watch, parse_watch_query(watch.query)) for watch in WATCHES]
    assert matching_watch(item(text, language), parsed) == expected


def test_title_counts_for_matching() -> None:
    post = PostItem(source="s", platform="feed", external_id="1", title="Acme", text="broken")
    assert matching_watch(post, [(WATCHES[1], parse_watch_query("acme"))]) == "acme"
