"""Settings models for the crawlers; flows composes them into uproar.toml."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crawlers.query import parse_watch_query

DEFAULT_USER_AGENT = "uproar/0.1 (+https://github.com/uproar-monitor/uproar)"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WatchConfig(_Model):
    """A named watch: a boolean query over post text, optionally limited to languages."""

    name: str = Field(min_length=1)
    query: str
    languages: list[str] = []

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


SourceConfig = Annotated[FeedSource | ReviewPagesSource, Field(discriminator="type")]


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

    @property
    def full_user_agent(self) -> str:
        return f"{self.user_agent} (contact: {self.contact})" if self.contact else self.user_agent
