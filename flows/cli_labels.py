"""``uproar label``: a person says what a post (or a complaint's post) really is."""

from __future__ import annotations

from typing import Annotated

import typer

from flows.cli_common import ConfigOption, console, fail, load_or_exit
from flows.cli_sentiment import database_or_exit


def label(
    post_id: Annotated[int | None, typer.Argument(help="the post's id")] = None,
    sentiment: Annotated[
        str, typer.Option("--sentiment", help="negative, neutral or positive")
    ] = "",
    category: Annotated[
        str | None, typer.Option(help="for negative posts: what the complaint is about")
    ] = None,
    labeller: Annotated[str, typer.Option("--as", help="who is labelling")] = "",
    complaint: Annotated[
        int | None, typer.Option("--complaint", help="label the post of this complaint instead")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Store a human label of a post (the newest label of a post is the one retrain uses)."""
    from sentiment.labels import LabelError, add_label, check_label, post_of_complaint
    from storage.db import session_scope
    from storage.types import utcnow

    if (post_id is None) == (complaint is None):
        raise fail("name the post: give a POST_ID or --complaint ID (not both)")
    if not sentiment:
        raise fail("--sentiment is required: negative, neutral or positive")
    if not labeller.strip():
        raise fail("--as NAME is required: who is labelling")
    try:
        check_label(sentiment, category)
    except LabelError as exc:
        raise fail(str(exc)) from None
    loaded = load_or_exit(config)
    with database_or_exit(loaded.database.url) as factory, session_scope(factory) as session:
        try:
            target = post_id if complaint is None else post_of_complaint(session, complaint)
            assert target is not None
            stored = add_label(session, target, sentiment, category, labeller, utcnow())
        except LabelError as exc:
            raise fail(str(exc)) from None
        what = f"{stored.sentiment}" + (f" / {stored.category}" if stored.category else "")
        console.print(
            f"post {stored.post_id} labelled {what} by {stored.labeller}", highlight=False
        )
