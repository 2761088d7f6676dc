"""Scrapy settings for uproar crawls: polite defaults as named constants, one builder."""

from __future__ import annotations

from typing import Any

from crawlers.config import DEFAULT_USER_AGENT, CrawlSettings
from crawlers.pipelines import DATABASE_URL_SETTING
from crawlers.ratelimit import settings_for_rate_limits

ROBOTSTXT_OBEY = True
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 32 * 1024 * 1024  # a feed or a product page, not a video
RETRY_ENABLED = True
RETRY_TIMES = 2
CONCURRENT_REQUESTS_PER_DOMAIN = 4
USER_AGENT = DEFAULT_USER_AGENT
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "INFO"
DEFAULT_DROPITEM_LOG_LEVEL = "DEBUG"  # items outside every watch are routine, not warnings
COOKIES_ENABLED = False
ITEM_PIPELINES = {
    "crawlers.pipelines.WatchFilterPipeline": 100,
    "crawlers.pipelines.StorePostsPipeline": 800,
}

DEFAULTS: dict[str, Any] = {
    "ROBOTSTXT_OBEY": ROBOTSTXT_OBEY,
    "AUTOTHROTTLE_ENABLED": AUTOTHROTTLE_ENABLED,
    "AUTOTHROTTLE_START_DELAY": AUTOTHROTTLE_START_DELAY,
    "AUTOTHROTTLE_MAX_DELAY": AUTOTHROTTLE_MAX_DELAY,
    "AUTOTHROTTLE_TARGET_CONCURRENCY": AUTOTHROTTLE_TARGET_CONCURRENCY,
    "DOWNLOAD_TIMEOUT": DOWNLOAD_TIMEOUT,
    "DOWNLOAD_MAXSIZE": DOWNLOAD_MAXSIZE,
    "RETRY_ENABLED": RETRY_ENABLED,
    "RETRY_TIMES": RETRY_TIMES,
    "CONCURRENT_REQUESTS_PER_DOMAIN": CONCURRENT_REQUESTS_PER_DOMAIN,
    "USER_AGENT": USER_AGENT,
    "TELNETCONSOLE_ENABLED": TELNETCONSOLE_ENABLED,
    "LOG_LEVEL": LOG_LEVEL,
    "DEFAULT_DROPITEM_LOG_LEVEL": DEFAULT_DROPITEM_LOG_LEVEL,
    "COOKIES_ENABLED": COOKIES_ENABLED,
    "ITEM_PIPELINES": ITEM_PIPELINES,
}


def build_settings(crawl: CrawlSettings, database_url: str) -> dict[str, Any]:
    """Scrapy settings for one crawl: the defaults above, overridden by ``crawl``."""
    return DEFAULTS | {
        "USER_AGENT": crawl.full_user_agent,
        "DOWNLOAD_TIMEOUT": crawl.timeout_seconds,
        "RETRY_ENABLED": crawl.retries > 0,
        "RETRY_TIMES": crawl.retries,
        "ROBOTSTXT_OBEY": crawl.obey_robots_txt,
        "AUTOTHROTTLE_ENABLED": crawl.autothrottle,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrent_requests_per_domain,
        DATABASE_URL_SETTING: database_url,
        **settings_for_rate_limits(crawl.max_rate_limit_wait_seconds, crawl.rate_limit_retries),
    }
