"""The one item every spider yields: storage's normalised post (pipelines fill in ``watch``)."""

from __future__ import annotations

from storage.posts import NewPost

PostItem = NewPost


def searchable_text(item: PostItem) -> str:
    """What a watch query is matched against: title and body."""
    return f"{item.title}\n{item.text}" if item.title else item.text
