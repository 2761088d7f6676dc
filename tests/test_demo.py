"""``uproar demo`` as a user runs it: a summary, and a second run that adds nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from flows.demo import run_demo

pytestmark = pytest.mark.slow


def test_demo_twice(prefect_harness: None, tmp_path: Path) -> None:
    first_console = Console(record=True, width=140)
    opened = run_demo(first_console, tmp_path / "demo")
    first = first_console.export_text()

    assert opened >= 3
    for expected in (
        "Crawl",
        "larkspur-mentions",
        "Complaints opened",
        "Alerts:",
        "The local Slack server received",
        "Next, try",
    ):
        assert expected in first, expected
    assert "7700 900123" not in first  # personal data from the sample posts is masked

    second_console = Console(record=True, width=140)
    assert run_demo(second_console, tmp_path / "demo") == 0
    second = second_console.export_text()
    assert "Nothing new" in second
    assert "No new complaints opened." in second
