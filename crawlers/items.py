"""The one item every spider yields: a normalised post, converted to storage's NewPost."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from storage.posts import NewPost


@dataclass
class PostItem:
    """A post or review as a spider saw it; pipelines fill in ``watch``.

    Mutable (unlike NewPost) because pipelines annotate it on its way to storage.
    """

    source: str
    platform: str
    external_id: str
    text: str
    url: str | None = None
    author: str | None = None
    author_followers: int | None = None
    title: str | None = None
    language: str | None = None
    published_at: datetime | None = None
    likes: int | None = None
    reposts: int | None = None
    replies: int | None = None
    views: int | None = None
    rating: float | None = None
    rating_scale: float | None = None
    watch: str | None = None
    region: str | None = None

    def to_new_post(self) -> NewPost:
        return NewPost(**asdict(self))

    @property
    def searchable_text(self) -> str:
        """What a watch query is matched against: title and body."""
        return f"{self.title}\n{self.text}" if self.title else self.text
