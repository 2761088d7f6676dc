"""Settings models for the crawlers; flows composes them into uproar.toml."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crawlers.health import SourceHealthSettings
from crawlers.query import parse_watch_query, search_terms

DEFAULT_USER_AGENT = "uproar/0.1 (+https://github.com/uproar-monitor/uproar)"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WatchConfig(_Model):
    """A named watch: a boolean query over post text, optionally limited to languages."""

    name: str = Field(min_length=1)
    query: str
    languages: list[str] = []
    # What to ask platforms' own search for; empty means the query's positive terms.
    search_terms: list[str] = []

    def platform_search_terms(self) -> list[str]:
        """The terms platform searches run for this watch (none for ``*``-like queries)."""
        if self.search_terms:
            return list(self.search_terms)
        return search_terms(parse_watch_query(self.query)) or []

    @field_validator("query")
    @classmethod
    def _query_parses(cls, value: str) -> str:
        parse_watch_query(value)  # QuerySyntaxError is a ValueError: pydantic reports it
        return value

    @field_validator("languages")
    @classmethod
    def _lower_languages(cls, value: list[str]) -> list[str]:
        return [language.strip().lower() for language in value]


class _SourceBase(_Model):
    name: str = Field(min_length=1)
    enabled: bool = True
    # Names of the watches to evaluate for this source; empty means all of them.
    watches: list[str] = []
    # Every item belongs to this watch, no query evaluated (a brand's own product pages).
    assign_watch: str | None = None


class FeedSource(_SourceBase):
    """An RSS, Atom or JSON Feed URL."""

    type: Literal["feed"]
    url: str


class ReviewPagesSource(_SourceBase):
    """Product pages whose schema.org Reviews (JSON-LD or microdata) become posts."""

    type: Literal["reviews"]
    urls: list[str] = Field(min_length=1)


class ApiSource(_SourceBase):
    """What every platform API source shares: paging limits and the incremental window."""

    max_pages: int = Field(default=10, ge=1)  # per stream and run
    # A time cursor re-reads this much before it, so late-indexed posts are not missed.
    overlap_minutes: float = Field(default=10, ge=0)
    # How far back the first run (no cursor yet) goes.
    first_run_days: float = Field(default=7, gt=0)
    # Watch-based searches: run one platform search per search term of each watch.
    search: bool = True


class MastodonSource(ApiSource):
    """Hashtag timelines and status search on one or more Mastodon instances."""

    type: Literal["mastodon"]
    instances: list[str] = Field(default=["https://mastodon.social"], min_length=1)
    hashtags: list[str] = []
    # Name of the environment variable holding an access token (status search on most
    # instances needs one); the token itself never goes into uproar.toml.
    access_token_env: str | None = None

    @field_validator("hashtags")
    @classmethod
    def _strip_hash(cls, value: list[str]) -> list[str]:
        return [tag.strip().lstrip("#") for tag in value if tag.strip().lstrip("#")]


class BlueskySource(ApiSource):
    """``app.bsky.feed.searchPosts`` on an AppView; optional author feeds (reposts)."""

    type: Literal["bluesky"]
    appview: str = "https://public.api.bsky.app"
    languages: list[str] = []  # the ``lang`` filter sent to searchPosts
    authors: list[str] = []  # handles or DIDs whose feeds (with reposts) to read
    profile_cache_hours: float = Field(default=6, ge=0)


class RedditSource(ApiSource):
    """Reddit ``/search.json`` per watch term and ``/r/<sub>/new.json`` listings."""

    type: Literal["reddit"]
    base_url: str = "https://www.reddit.com"
    subreddits: list[str] = []

    @field_validator("subreddits")
    @classmethod
    def _strip_prefix(cls, value: list[str]) -> list[str]:
        return [sub.strip().removeprefix("/").removeprefix("r/") for sub in value]


class HackerNewsSource(ApiSource):
    """Hacker News through Algolia's ``search_by_date`` (stories and comments)."""

    type: Literal["hackernews"]
    base_url: str = "https://hn.algolia.com/api/v1"
    tags: list[Literal["story", "comment"]] = Field(default=["story", "comment"], min_length=1)


class WeiboSource(ApiSource):
    """Weibo-style container JSON (``m.weibo.cn/api/container/getIndex``)."""

    type: Literal["weibo"]
    base_url: str = "https://m.weibo.cn"
    containers: list[str] = []  # extra container ids, e.g. a brand account's timeline
    timezone: str = "Asia/Shanghai"  # what "今天 10:02" and "06-14" mean


class AppStoreSource(ApiSource):
    """Apple App Store customer reviews RSS (JSON) for one app in some countries."""

    type: Literal["appstore"]
    base_url: str = "https://itunes.apple.com"
    app_id: str = Field(min_length=1)
    countries: list[str] = Field(default=["us"], min_length=1)
    max_pages: int = Field(default=10, ge=1, le=10)  # Apple serves at most 10 pages
    search: bool = False  # reviews are about the app: every review is assigned or matched


PlatformSource = (
    MastodonSource | BlueskySource | RedditSource | HackerNewsSource | WeiboSource | AppStoreSource
)
AnySource = FeedSource | ReviewPagesSource | PlatformSource
SourceConfig = Annotated[AnySource, Field(discriminator="type")]


class CrawlSettings(_Model):
    """How politely and how long to crawl."""

    user_agent: str = DEFAULT_USER_AGENT
    contact: str | None = None  # appended to the User-Agent so site owners can reach us
    timeout_seconds: float = Field(default=30, gt=0)
    retries: int = Field(default=2, ge=0)
    obey_robots_txt: bool = True
    autothrottle: bool = True
    concurrent_requests_per_domain: int = Field(default=4, ge=1)
    process_timeout_seconds: float = Field(default=600, gt=0)
    # A 429 asking for a longer wait than this fails the stream until the next run.
    max_rate_limit_wait_seconds: float = Field(default=300, ge=0)
    rate_limit_retries: int = Field(default=3, ge=0)
    # When a source counts as broken and raises an operations alert ([crawl.health]).
    health: SourceHealthSettings = Field(default_factory=SourceHealthSettings)

    @property
    def full_user_agent(self) -> str:
        return f"{self.user_agent} (contact: {self.contact})" if self.contact else self.user_agent
