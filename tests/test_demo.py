"""``uproar demo`` as a user runs it: a summary, and a second run that adds nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import select

from flows.demo import run_demo
from storage.db import database
from storage.models import Post

pytestmark = pytest.mark.slow


def test_demo_twice(prefect_harness: None, tmp_path: Path) -> None:
    first_console = Console(record=True, width=140)
    opened = run_demo(first_console, tmp_path / "demo")
    first = first_console.export_text()

    assert opened >= 3
    for expected in (
        "Crawl",
        "larkspur-mentions",
        "larkspur-mastodon",
        "larkspur-reddit",
        "Complaints opened",
        "Alerts:",
        "The local Slack server received",
        "Next, try",
    ):
        assert expected in first, expected
    assert "7700 900123" not in first  # personal data from the sample posts is masked
    assert "13912345678" not in first  # ... also on Mastodon
    # The sofa complaint was boosted by a 48 000-follower account: stored once, and the
    # boost's audience is in its reach.
    with database(f"sqlite:///{tmp_path / 'demo' / 'uproar.db'}") as factory, factory() as session:
        sofa = session.scalars(select(Post).where(Post.text.contains("Third week waiting"))).one()
        assert (sofa.amplifications, sofa.amplifier_followers) == (1, 48_000)
        stored_texts = list(session.scalars(select(Post.text)))
    assert not any("13912345678" in text or "devon.r@" in text for text in stored_texts)

    second_console = Console(record=True, width=140)
    assert run_demo(second_console, tmp_path / "demo") == 0
    second = second_console.export_text()
    assert "Nothing new" in second
    assert "No new complaints opened." in second
